import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
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
  async function start(env: Record<string, string>): Promise<{ proc: ChildProcess; port: number; db: TestDatabase; tmp: string; exited: Promise<number | null> }> {
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
    // A deadline, not a figure: a start takes a few seconds, far longer on a loaded 2-core machine.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const ok = await call(port, 'GET', '/readyz').then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      if (proc.exitCode !== null) throw new Error(`main.js exited with ${proc.exitCode}`);
      if (Date.now() > deadline) throw new Error('main.js not ready within 120 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    return { proc, port, db, tmp, exited };
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
  it('replaces a worker that dies with one that takes over its spill folder, and keeps answering', async () => {
    const s = await start({ SERVING_WORKERS: '2' });
    const workerPids = () =>
      execFileSync('pgrep', ['-P', String(s.proc.pid)], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .map(Number)
        .sort();
    // The index a worker was forked with (its spill folder is worker-<index>), from its environment.
    const indexOf = async (pid: number) =>
      (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0').find((e) => e.startsWith('SERVING_WORKER_INDEX='))?.split('=')[1];
    const before = workerPids();
    assert.equal(before.length, 2);
    const killedIndex = await indexOf(before[0]!);
    const spill = path.join(s.tmp, 'spill');
    assert.deepEqual((await readdir(spill)).sort(), ['worker-0', 'worker-1']);

    process.kill(before[0]!, 'SIGKILL');
    const deadline = Date.now() + 30_000;
    let after = workerPids();
    while (!(after.length === 2 && !after.includes(before[0]!))) {
      if (Date.now() > deadline) throw new Error(`no replacement worker: ${after.join(', ')}`);
      await new Promise((r) => setTimeout(r, 50));
      after = workerPids();
    }
    assert.ok(after.includes(before[1]!), 'the other worker kept running');
    const replacement = after.find((p) => !before.includes(p))!;
    assert.equal(await indexOf(replacement), killedIndex, "the replacement has the dead worker's index, so its spill folder");
    // The replacement keeps its predecessor's index, so its spill folder: no third folder.
    assert.deepEqual((await readdir(spill)).sort(), ['worker-0', 'worker-1']);
    let answered = 0;
    for (let i = 0; i < 20; i++) {
      const r = await call(s.port, 'POST', '/predict', key, { model: 'credit', features: FEATURES });
      // A connection may reach the replacement before it listens: the primary only hands
      // connections to listening workers, so every request is answered.
      assert.equal(r.status, 200, r.text);
      answered++;
    }
    s.proc.kill('SIGTERM');
    assert.equal(await s.exited, 0);
    assert.equal(await rowCount(s.db), answered);
  });
});
