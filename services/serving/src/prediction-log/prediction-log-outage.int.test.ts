import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createLogger, createMetricsRegistry, createPool, type Pool } from '@contender/platform';
import { startTcpProxy, type TcpProxy } from '../testing/tcp-proxy.js';
import { PredictionLog, type PredictionLogDeps } from './prediction-log.js';
import { PgPredictionStore } from './pg-prediction-store.js';
import { copyData, toLogRow, type PredictionRecord } from './prediction-record.js';
import { insertRecords, makeRecords, metricValue, rowCounts, setUpLogDatabase, waitFor } from './test-helpers.js';

const logger = createLogger('serving', 'silent');
let env: Awaited<ReturnType<typeof setUpLogDatabase>>;
/** Straight to Postgres: the test's own view of the table. */
let direct: Pool;

before(async () => {
  env = await setUpLogDatabase('prediction_log_outage');
  direct = env.pool;
});
after(async () => {
  await env.tearDown();
});

/** A log whose pool goes through a proxy the test can cut. */
async function proxiedLog(overrides: Partial<PredictionLogDeps> = {}) {
  const proxy = await startTcpProxy({ port: Number(new URL(env.db.url).port || 5432) });
  const pool = createPool(proxy.rewrite(env.db.url), { max: 4 });
  const metrics = createMetricsRegistry('serving', { defaultMetrics: false });
  const spillDir = overrides.spillDir ?? (await env.tmp());
  const log = new PredictionLog({
    pool,
    databaseUrl: proxy.rewrite(env.db.url),
    logger,
    metrics,
    spillDir,
    flushIntervalMs: 20,
    retryInitialMs: 20,
    retryMaxMs: 200,
    ...overrides,
  });
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      proxy.restore();
      await log.close();
      await pool.end();
      await proxy.close();
    })());
  cleanups.push(stop);
  return { log, metrics, proxy, pool, spillDir, stop };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  // A failed test must not leave a pool or a proxy behind: they would keep the process alive.
  await Promise.all(cleanups.splice(0).map((stop) => stop()));
});

const exists = (f: string) => stat(f).then(() => true, () => false);

describe('prediction log during a Postgres outage', () => {
  it('spills to disk while Postgres is down and replays once it is back: exactly one row per record', async () => {
    const { log, metrics, proxy, spillDir, stop } = await proxiedLog();
    await log.start();
    const beforeOutage = makeRecords(50);
    beforeOutage.forEach((r) => log.append(r));
    await log.flush();

    proxy.cut('reset');
    const duringOutage = makeRecords(1_200);
    for (const [i, r] of duringOutage.entries()) {
      log.append(r);
      if (i % 300 === 299) await log.flush();
    }
    await log.flush();
    assert.equal(log.pending(), 0, 'nothing is held in memory: it is on disk');
    assert.equal(await metricValue(metrics, 'serving_prediction_log_spilled_total'), 1_200);
    assert.equal(await exists(path.join(spillDir, 'prediction-log.spill')), true);
    assert.equal(log.hasSpillBacklog(), true);
    assert.deepEqual(log.ready().ok, true, 'still ready: every prediction is durable');
    assert.match(log.ready().detail ?? '', /spilled/);
    assert.equal((await rowCounts(direct, duringOutage.map((r) => r.id))).distinct, 0);

    proxy.restore();
    const afterOutage = makeRecords(30);
    afterOutage.forEach((r) => log.append(r));
    const all = [...beforeOutage, ...duringOutage, ...afterOutage].map((r) => r.id);
    await waitFor(async () => !log.hasSpillBacklog() && (await rowCounts(direct, all)).distinct === all.length, {
      what: 'the replay',
    });
    assert.deepEqual(await rowCounts(direct, all), { total: all.length, distinct: all.length, missing: 0, duplicated: 0 });
    // Records appended just after the restore may still have been spilled, before the retry loop
    // noticed Postgres was back: whatever was spilled was replayed.
    assert.equal(
      await metricValue(metrics, 'serving_prediction_log_replayed_total'),
      await metricValue(metrics, 'serving_prediction_log_spilled_total'),
    );
    assert.equal(await exists(path.join(spillDir, 'prediction-log.spill')), false);
    assert.equal(await exists(path.join(spillDir, 'prediction-log.replaying')), false);
    assert.deepEqual(log.ready(), { ok: true });
    await stop();
  });

  it('replays a replay that crashed halfway after the next start, without duplicating what it had written', async () => {
    const spillDir = await env.tmp();
    const replaying = makeRecords(40);
    const spilledAfter = makeRecords(10);
    // The crashed process had committed the first half of the replaying file.
    await insertRecords(new PgPredictionStore(direct, { writeTimeoutMs: 5_000 }), replaying.slice(0, 20));
    await writeFile(path.join(spillDir, 'prediction-log.replaying'), copyData(replaying.map(toLogRow)));
    await writeFile(path.join(spillDir, 'prediction-log.spill'), copyData(spilledAfter.map(toLogRow)));

    const { log, metrics, stop } = await proxiedLog({ spillDir, batchSize: 7 });
    await log.start();
    await waitFor(() => !log.hasSpillBacklog(), { what: 'the replay' });
    const all = [...replaying, ...spilledAfter].map((r) => r.id);
    assert.deepEqual(await rowCounts(direct, all), { total: 50, distinct: 50, missing: 0, duplicated: 0 });
    assert.equal(await metricValue(metrics, 'serving_prediction_log_written_total'), 30, 'the 20 already there were skipped');
    assert.equal(log.hasSpillBacklog(), false);
    assert.equal(await exists(path.join(spillDir, 'prediction-log.replaying')), false);
    await stop();
  });

  it('starts while Postgres is down and replays the leftover spill files once it answers, old-format ones too', async () => {
    const spillDir = await env.tmp();
    const [leftover, legacy] = [makeRecords(10), makeRecords(5)];
    await writeFile(path.join(spillDir, 'prediction-log.spill'), copyData(leftover.map(toLogRow)));
    // Spill files of earlier versions held one JSON record per line.
    await writeFile(path.join(spillDir, 'prediction-log.spill.jsonl'), legacy.map((r: PredictionRecord) => `${JSON.stringify(r)}\n`).join(''));
    const { log, proxy, stop } = await proxiedLog({ spillDir });
    proxy.cut('reset');
    await log.start();
    assert.equal(log.hasSpillBacklog(), true);
    const fresh = makeRecords(5);
    fresh.forEach((r) => log.append(r));
    await log.flush();
    proxy.restore();
    const all = [...leftover, ...legacy, ...fresh].map((r) => r.id);
    await waitFor(async () => (await rowCounts(direct, all)).distinct === 20 && !log.hasSpillBacklog(), { what: 'the replay' });
    assert.deepEqual(await rowCounts(direct, all), { total: 20, distinct: 20, missing: 0, duplicated: 0 });
    assert.equal(await exists(path.join(spillDir, 'prediction-log.spill.jsonl')), false);
    await stop();
  });

  it('abandons a write that hangs after writeTimeoutMs and spills its batch', async () => {
    const { log, metrics, proxy, stop } = await proxiedLog({ writeTimeoutMs: 200, flushIntervalMs: 3_600_000 });
    await log.start();
    const warm = makeRecords(1);
    log.append(warm[0]!);
    await log.flush();
    proxy.cut('blackhole');
    const records = makeRecords(20);
    records.forEach((r) => log.append(r));
    await log.flush();
    assert.equal(await metricValue(metrics, 'serving_prediction_log_spilled_total'), 20);
    proxy.restore();
    const ids = records.map((r) => r.id);
    await waitFor(async () => (await rowCounts(direct, ids)).distinct === 20 && !log.hasSpillBacklog(), {
      what: 'the replay',
      timeoutMs: 20_000,
    });
    assert.deepEqual(await rowCounts(direct, ids), { total: 20, distinct: 20, missing: 0, duplicated: 0 });
    await stop();
  });

  it('holds no more than maxBufferedRecords waiting in memory while a write is stuck, spilling the rest at once', async () => {
    const { log, metrics, proxy, stop } = await proxiedLog({
      writeTimeoutMs: 60_000,
      batchSize: 10,
      maxBufferedRecords: 100,
      // The timer never fires while the write is stuck (one flush at a time); afterwards it
      // writes the last part batch.
      flushIntervalMs: 200,
    });
    await log.start();
    proxy.cut('blackhole');
    const records = makeRecords(1_000);
    let peak = 0;
    // In memory: at most the cap of waiting records, plus the one batch whose write is stuck.
    const bound = 100 + 10;
    for (const r of records) {
      log.append(r);
      peak = Math.max(peak, log.pending());
      // Let the overflow spill's file I/O run between requests, as it would under real traffic.
      if (log.pending() >= bound) await waitFor(() => log.pending() < bound, { what: 'the overflow spill' });
    }
    assert.ok(peak <= bound, `peak ${peak}`);
    assert.ok((await metricValue(metrics, 'serving_prediction_log_spilled_total')) >= 800);

    proxy.restore();
    const ids = records.map((r) => r.id);
    await waitFor(async () => (await rowCounts(direct, ids)).distinct === 1_000 && !log.hasSpillBacklog(), {
      what: 'every record written',
      timeoutMs: 20_000,
    });
    assert.deepEqual(await rowCounts(direct, ids), { total: 1_000, distinct: 1_000, missing: 0, duplicated: 0 });
    await stop();
  });

  it('spills everything buffered on close while Postgres is down, for the next start to write', async () => {
    const { log, proxy, spillDir, stop } = await proxiedLog({ flushIntervalMs: 3_600_000 });
    await log.start();
    proxy.cut('reset');
    const records = makeRecords(25);
    records.forEach((r) => log.append(r));
    await log.close(); // while Postgres is still unreachable
    await stop();
    assert.equal(log.pending(), 0);
    const ids = records.map((r) => r.id);
    assert.equal((await rowCounts(direct, ids)).distinct, 0);

    const next = await proxiedLog({ spillDir });
    await next.log.start();
    await waitFor(() => !next.log.hasSpillBacklog(), { what: 'the replay' });
    assert.deepEqual(await rowCounts(direct, ids), { total: 25, distinct: 25, missing: 0, duplicated: 0 });
    await next.stop();
  });
});
