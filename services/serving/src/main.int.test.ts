import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createTestDatabase, deleteRedisKeys, type TestDatabase, freePort } from '@contender/platform/testing';
import { startTestRegistry, type TestRegistry } from '@contender/registry/testing';
import { metricValue } from './test/metric-value.js';
import { RegistryAdmin, TREECL2, TREECL2_FEATURES, fixture } from './test/registry-fixtures.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
const FEATURES = Object.fromEntries(TREECL2_FEATURES.map((n, i) => [n, i / 10]));


/** One request on a connection of its own, so the cluster primary spreads them over the workers. */
function call(port: number, method: string, p: string, key?: string, body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: p,
        method,
        agent: false,
        headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(payload ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('the serving process (dist/main.js)', () => {
  let reg: TestRegistry;
  let key: string;
  let serviceKey: string;
  const cleanups: Array<() => Promise<unknown>> = [];

  before(async () => {
    reg = await startTestRegistry();
    const admin = new RegistryAdmin(reg.url, reg.adminKey);
    await admin.createModel('credit');
    await admin.registerVersion('credit', fixture(TREECL2), { featureNames: TREECL2_FEATURES });
    await admin.setAlias('credit', 'champion', 1);
    key = await reg.createKey('predictor');
    serviceKey = await reg.createKey('predictor');
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await reg?.close();
  });

  /** Starts main.js with its own database, folders and Redis prefix; resolves once /readyz is 200. */
  async function start(env: Record<string, string>): Promise<{ proc: ChildProcess; port: number; db: TestDatabase; exited: Promise<number | null> }> {
    const db = await createTestDatabase('serving_main');
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'contender-serving-main-'));
    const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
    const redisKeyPrefix = `t-main-${randomBytes(4).toString('hex')}:`;
    cleanups.push(() => deleteRedisKeys(redisUrl, redisKeyPrefix), () => db.drop(), () => rm(tmp, { recursive: true, force: true }));
    const port = await freePort();
    const proc = spawn(process.execPath, [MAIN], {
      env: {
        ...process.env,
        PORT: String(port),
        DATABASE_URL: db.url,
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: redisKeyPrefix,
        REGISTRY_URL: reg.url,
        REGISTRY_API_KEY: serviceKey,
        MODEL_CACHE_DIR: path.join(tmp, 'models'),
        PREDICTION_SPILL_DIR: path.join(tmp, 'spill'),
        LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    cleanups.push(async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ok = await call(port, 'GET', '/readyz').then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      if (proc.exitCode !== null) throw new Error(`main.js exited with ${proc.exitCode}`);
      if (Date.now() > deadline) throw new Error('main.js not ready within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    return { proc, port, db, exited };
  }

  async function rowCount(db: TestDatabase): Promise<number> {
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      return (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM serving.prediction')).rows[0]!.n;
    } finally {
      await pool.end();
    }
  }

  it('flushes the prediction log on SIGTERM: every answered prediction is in the table after exit', async () => {
    // A flush interval far longer than the test: only the shutdown flush can write the rows.
    const s = await start({ PREDICTION_LOG_FLUSH_MS: '600000', PREDICTION_LOG_BATCH_SIZE: '50000' });
    let answered = 0;
    for (let i = 0; i < 150; i++) {
      const r = await call(s.port, 'POST', '/predict', key, { model: 'credit', entityId: `m${i}`, features: FEATURES });
      assert.equal(r.status, 200, r.text);
      answered++;
    }
    assert.equal(await rowCount(s.db), 0, 'nothing written yet');
    s.proc.kill('SIGTERM');
    assert.equal(await s.exited, 0);
    assert.equal(await rowCount(s.db), answered);
  });

  it('runs SERVING_WORKERS workers and aggregates /metrics across them', async () => {
    const s = await start({ SERVING_WORKERS: '2' });
    const n = 40;
    for (let i = 0; i < n; i++) {
      const r = await call(s.port, 'POST', '/predict', key, { model: 'credit', features: FEATURES });
      assert.equal(r.status, 200, r.text);
    }
    const scrapes = await Promise.all(Array.from({ length: 4 }, () => call(s.port, 'GET', '/metrics')));
    for (const m of scrapes) {
      assert.equal(m.status, 200);
      assert.equal(metricValue(m.text, 'serving_predictions_total', { model: 'credit', variant: 'champion', outcome: 'ok' }), n, 'every scrape sees both workers');
      assert.equal(metricValue(m.text, 'serving_model_info', { model: 'credit', version: '1', alias: 'champion' }), 1, 'info gauges are not summed');
    }
    s.proc.kill('SIGTERM');
    assert.equal(await s.exited, 0);
    assert.equal(await rowCount(s.db), n, 'both workers flushed on shutdown');
  });
});
