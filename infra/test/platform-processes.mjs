// The platform as real processes (each service's dist/main.js), on free loopback ports, with a
// database, artifact folder and Redis key prefix of its own: for end-to-end tests that need what
// only whole processes show (metrics as Prometheus scrapes them, signals).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase } from '@contender/platform/testing';
import { repoRoot } from './fresh-clone.mjs';

export function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitReady(url, child, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited (${child.exitCode}) before it was ready`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} was not ready within ${timeoutMs} ms`);
}

/**
 * Starts the registry, then each of `services` (serving, scheduler) with a key of its own.
 * `env` adds to every service's environment; `envOf[name]` to one service's.
 */
export async function startPlatform({ services = ['serving'], env = {}, envOf = {} } = {}) {
  const db = await createTestDatabase('platform');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'contender-platform-'));
  const adminKey = `ctk_${randomBytes(32).toString('base64url')}`;
  const procs = {};
  const urls = {};
  const logs = {};
  const base = {
    PATH: process.env.PATH,
    DATABASE_URL: db.url,
    REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    HOST: '127.0.0.1',
    ...env,
  };
  const spawnService = async (name, extra) => {
    const main = path.join(repoRoot, `services/${name}/dist/main.js`);
    if (!existsSync(main)) throw new Error(`${main} is not built`);
    const port = await freePort();
    const child = spawn(process.execPath, [main], { env: { ...base, ...extra, ...envOf[name], PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
    logs[name] = '';
    const keep = (d) => (logs[name] = (logs[name] + d).slice(-20_000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    procs[name] = child;
    urls[name] = `http://127.0.0.1:${port}`;
    await waitReady(urls[name], child);
  };
  const createKey = async (role, name) => {
    const res = await fetch(`${urls.registry}/api/v1/api-keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
      body: JSON.stringify({ name: name ?? `${role}-${randomBytes(3).toString('hex')}`, role }),
    });
    if (!res.ok) throw new Error(`creating a ${role} key: ${res.status} ${await res.text()}`);
    return (await res.json()).key;
  };
  const stop = async () => {
    await Promise.all(
      Object.values(procs).map(
        (c) =>
          new Promise((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
            c.once('exit', () => (clearTimeout(t), resolve()));
            c.kill('SIGTERM');
          }),
      ),
    );
    rmSync(tmp, { recursive: true, force: true });
    await db.drop();
  };
  try {
    await spawnService('registry', { BOOTSTRAP_ADMIN_KEY: adminKey, ARTIFACT_STORE: `file://${path.join(tmp, 'artifacts')}`, UPLOAD_TMP_DIR: tmp });
    const serviceUrls = {};
    for (const name of services) {
      const extra = { REGISTRY_URL: urls.registry, REGISTRY_API_KEY: await createKey(name === 'serving' ? 'predictor' : 'data-scientist', `platform-${name}`) };
      if (name === 'serving') {
        Object.assign(extra, {
          REDIS_KEY_PREFIX: `t-platform-${randomBytes(4).toString('hex')}:`,
          MODEL_CACHE_DIR: path.join(tmp, 'serving-models'),
          PREDICTION_SPILL_DIR: path.join(tmp, 'serving-spill'),
        });
      }
      if (name === 'scheduler') extra.SERVING_URL = urls.serving ?? serviceUrls.serving ?? '';
      await spawnService(name, extra);
      serviceUrls[name] = urls[name];
    }
  } catch (err) {
    await stop();
    err.message += `\n${Object.entries(logs).map(([n, l]) => `--- ${n}\n${l}`).join('\n')}`;
    throw err;
  }
  return { urls, adminKey, db, procs, logs, createKey, stop };
}
