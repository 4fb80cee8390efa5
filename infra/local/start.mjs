#!/usr/bin/env node
// `npm start`: runs the platform on this machine with local defaults. Postgres and Redis must be
// running locally; the database is created and migrated by each service at start; artifacts go to
// ./.data/artifacts unless ARTIFACT_STORE says otherwise. Every variable of the README's
// environment table is honoured: what you export is passed through unchanged.
//
// On first run it makes a random admin key (./.data/admin-key) and, for each service that calls
// the registry, a key of its own through the registry's API (serving: predictor, ./.data/serving-key;
// scheduler: data-scientist, ./.data/scheduler-key). Each child gets only its own secret: the admin
// key goes to the registry alone. Any failure stops every process this script started.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dataDir = path.join(root, '.data');
mkdirSync(dataDir, { recursive: true });

const readOrCreate = (file, make) => {
  const p = path.join(dataDir, file);
  if (existsSync(p)) return readFileSync(p, 'utf8').trim();
  const v = make();
  writeFileSync(p, v + '\n', { mode: 0o600 });
  return v;
};

const ports = {
  registry: process.env.REGISTRY_PORT ?? '8081',
  serving: process.env.SERVING_PORT ?? '8080',
  scheduler: process.env.SCHEDULER_PORT ?? '8082',
};
const host = process.env.HOST ?? '127.0.0.1';
const base = {
  DATABASE_URL: 'postgres://127.0.0.1:5432/contender',
  REDIS_URL: 'redis://127.0.0.1:6379',
  ARTIFACT_STORE: `file://${path.join(dataDir, 'artifacts')}`,
  REGISTRY_URL: `http://127.0.0.1:${ports.registry}`,
  SERVING_URL: `http://127.0.0.1:${ports.serving}`,
  SCHEDULER_URL: `http://127.0.0.1:${ports.scheduler}`,
  ...process.env,
};
// Secrets are handed out per service below, never inherited by every child.
const { BOOTSTRAP_ADMIN_KEY: exportedAdminKey, REGISTRY_API_KEY: exportedServiceKey, ...shared } = base;
const adminKey = exportedAdminKey ?? readOrCreate('admin-key', () => `ctk_${randomBytes(32).toString('base64url')}`);

const services = [
  { name: 'registry', main: 'services/registry/dist/main.js', port: ports.registry, env: { BOOTSTRAP_ADMIN_KEY: adminKey } },
  { name: 'serving', main: 'services/serving/dist/main.js', port: ports.serving, key: { file: 'serving-key', role: 'predictor' } },
  { name: 'scheduler', main: 'services/scheduler/dist/main.js', port: ports.scheduler, key: { file: 'scheduler-key', role: 'data-scientist' } },
].filter((s) => existsSync(path.join(root, s.main)));

const children = [];
let stopping = false;
function stopAll(code) {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  const waits = children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : null));
  // A child that ignores SIGTERM past its own shutdown timeout is killed, so nothing outlives us.
  setTimeout(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    process.exit(code);
  }, 15_000).unref();
  Promise.all(waits).then(() => process.exit(code));
}
const fail = (line) => {
  console.error(`[start] ${line}`);
  stopAll(1);
};
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));
process.on('unhandledRejection', (err) => fail(`stopped: ${err instanceof Error ? err.message : String(err)}`));

function portFree(port) {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(Number(port), host, () => s.close(() => resolve(true)));
  });
}

async function waitReady(name, port) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (stopping) return false;
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (res.ok) return true;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  console.error(`[start] ${name} was not ready on port ${port} within 60 s`);
  return false;
}

const registryApi = `${base.REGISTRY_URL}/api/v1`;

async function isActive(key) {
  const res = await fetch(`${registryApi}/auth/introspect`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key }) });
  if (!res.ok) return false;
  return (await res.json()).active === true;
}

/** The service's key from .data (created through the registry when missing or no longer valid). */
async function ensureServiceKey(name, { file, role }) {
  if (exportedServiceKey) return exportedServiceKey;
  const p = path.join(dataDir, file);
  if (existsSync(p)) {
    const key = readFileSync(p, 'utf8').trim();
    if (await isActive(key)) return key;
  }
  const res = await fetch(`${registryApi}/api-keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
    body: JSON.stringify({ name: `local-${name}-${randomBytes(3).toString('hex')}`, role }),
  });
  if (res.status === 401) {
    throw new Error(
      `the admin key ${exportedAdminKey ? 'in BOOTSTRAP_ADMIN_KEY' : 'in .data/admin-key'} is not valid in ${base.DATABASE_URL}; ` +
        'export the admin key that database knows as BOOTSTRAP_ADMIN_KEY, or point DATABASE_URL at a new database',
    );
  }
  if (!res.ok) throw new Error(`could not create ${name}'s API key: ${res.status} ${await res.text()}`);
  const { key } = await res.json();
  writeFileSync(p, key + '\n', { mode: 0o600 });
  return key;
}

for (const s of services) {
  if (!(await portFree(s.port))) {
    fail(`port ${s.port} (${s.name}) is in use, perhaps by another \`npm start\`: stop it, or set ${s.name.toUpperCase()}_PORT`);
    break;
  }
}
for (const s of services) {
  if (stopping) break;
  const childEnv = { ...shared, ...s.env, PORT: s.port };
  if (s.key) {
    try {
      childEnv.REGISTRY_API_KEY = await ensureServiceKey(s.name, s.key);
    } catch (err) {
      fail(`stopped: ${err.message}`);
      break;
    }
  }
  const child = spawn(process.execPath, ['--enable-source-maps', path.join(root, s.main)], { env: childEnv, stdio: 'inherit' });
  children.push(child);
  child.on('exit', (code, signal) => {
    if (!stopping) fail(`${s.name} exited (${signal ?? code}); stopping the platform`);
  });
  if (!(await waitReady(s.name, s.port))) fail(`${s.name} did not become ready; stopping the platform`);
  else console.error(`[start] ${s.name} ready on http://127.0.0.1:${s.port} (docs: /docs)`);
}
if (!stopping) console.error(`[start] admin key: ${exportedAdminKey ? 'from BOOTSTRAP_ADMIN_KEY' : 'in .data/admin-key'}; Ctrl-C stops everything`);
