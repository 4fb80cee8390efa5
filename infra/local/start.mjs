#!/usr/bin/env node
// `npm start`: runs the platform on this machine with local defaults. Postgres and Redis must be
// running locally; the database is created and migrated by each service at start; artifacts go to
// ./.data/artifacts unless ARTIFACT_STORE says otherwise. Every variable of the README's
// environment table is honoured: what you export is passed through unchanged.
//
// On first run it makes a random admin key (./.data/admin-key) and, when serving is built, a
// predictor key for serving (./.data/serving-key) through the registry's API.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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

const env = {
  DATABASE_URL: 'postgres://127.0.0.1:5432/contender',
  REDIS_URL: 'redis://127.0.0.1:6379',
  ARTIFACT_STORE: `file://${path.join(dataDir, 'artifacts')}`,
  REGISTRY_URL: 'http://127.0.0.1:8081',
  ...process.env,
};
env.BOOTSTRAP_ADMIN_KEY ??= readOrCreate('admin-key', () => `ctk_${randomBytes(32).toString('base64url')}`);

const services = [
  { name: 'registry', main: 'services/registry/dist/main.js', port: env.REGISTRY_PORT ?? '8081' },
  { name: 'serving', main: 'services/serving/dist/main.js', port: env.SERVING_PORT ?? '8080' },
  { name: 'scheduler', main: 'services/scheduler/dist/main.js', port: env.SCHEDULER_PORT ?? '8082' },
].filter((s) => existsSync(path.join(root, s.main)));

const children = [];
let stopping = false;
function stopAll(code) {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 500).unref();
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null))).then(() => process.exit(code));
}
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));

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

async function ensureServingKey() {
  if (env.REGISTRY_API_KEY) return env.REGISTRY_API_KEY;
  const file = path.join(dataDir, 'serving-key');
  if (existsSync(file)) {
    const key = readFileSync(file, 'utf8').trim();
    const res = await fetch(`${env.REGISTRY_URL}/api/v1/auth/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key }),
    }).then((r) => r.json());
    if (res.active) return key;
  }
  const res = await fetch(`${env.REGISTRY_URL}/api/v1/api-keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${env.BOOTSTRAP_ADMIN_KEY}` },
    body: JSON.stringify({ name: `local-serving-${randomBytes(3).toString('hex')}`, role: 'predictor' }),
  });
  if (!res.ok) throw new Error(`could not create serving's API key: ${res.status} ${await res.text()}`);
  const { key } = await res.json();
  writeFileSync(file, key + '\n', { mode: 0o600 });
  return key;
}

for (const s of services) {
  const childEnv = { ...env, PORT: s.port };
  if (s.name !== 'registry') childEnv.REGISTRY_API_KEY = await ensureServingKey();
  const child = spawn(process.execPath, ['--enable-source-maps', path.join(root, s.main)], { env: childEnv, stdio: 'inherit' });
  children.push(child);
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`[start] ${s.name} exited (${signal ?? code}); stopping the platform`);
      stopAll(code || 1);
    }
  });
  if (!(await waitReady(s.name, s.port))) stopAll(1);
  else console.error(`[start] ${s.name} ready on http://127.0.0.1:${s.port} (docs: /docs)`);
}
console.error(`[start] admin key: ${env.BOOTSTRAP_ADMIN_KEY === readOrCreate('admin-key', () => '') ? 'in .data/admin-key' : 'from BOOTSTRAP_ADMIN_KEY'}; Ctrl-C stops everything`);
