import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createLogger, createMetricsRegistry, type Pool } from '@contender/platform';
import { PredictionLog, type PredictionLogDeps } from './prediction-log.js';
import { makeRecord, makeRecords, metricValue, rowCounts, setUpLogDatabase, waitFor } from './test-helpers.js';

const logger = createLogger('serving', 'silent');
let env: Awaited<ReturnType<typeof setUpLogDatabase>>;
let pool: Pool;

before(async () => {
  env = await setUpLogDatabase('prediction_log');
  pool = env.pool;
});
after(async () => {
  await env.tearDown();
});

async function newLog(overrides: Partial<PredictionLogDeps> = {}) {
  const metrics = createMetricsRegistry('serving', { defaultMetrics: false });
  const log = new PredictionLog({ pool, databaseUrl: env.db.url, logger, metrics, spillDir: await env.tmp(), ...overrides });
  return { log, metrics };
}

describe('prediction log', () => {
  it('writes appended records to serving.prediction with every column', async () => {
    const { log, metrics } = await newLog({ flushIntervalMs: 60_000 });
    await log.start();
    const records = makeRecords(3);
    const shadow = makeRecord({ variant: 'shadow', entityId: null, features: null, label: null, fallback: true, score: 12.5 });
    for (const r of [...records, shadow]) log.append(r);
    assert.equal(log.pending(), 4);
    await log.flush();
    assert.equal(log.pending(), 0);
    assert.deepEqual(await rowCounts(pool, [...records, shadow].map((r) => r.id)), { total: 4, distinct: 4, missing: 0, duplicated: 0 });
    const { rows } = await pool.query('SELECT * FROM serving.prediction WHERE id = $1', [shadow.id]);
    assert.deepEqual(rows[0], {
      id: shadow.id,
      request_id: shadow.requestId,
      at: shadow.at,
      model: shadow.model,
      version: shadow.version,
      variant: 'shadow',
      entity_id: null,
      features: null,
      score: 12.5,
      label: null,
      latency_ms: shadow.latencyMs,
      fallback: true,
    });
    const first = (await pool.query('SELECT features FROM serving.prediction WHERE id = $1', [records[0]!.id])).rows[0];
    assert.deepEqual(first.features, records[0]!.features);
    assert.equal(await metricValue(metrics, 'serving_prediction_log_written_total'), 4);
    await log.close();
  });

  it('flushes on its timer without being asked', async () => {
    const { log } = await newLog({ flushIntervalMs: 20 });
    await log.start();
    const records = makeRecords(5);
    records.forEach((r) => log.append(r));
    await waitFor(async () => (await rowCounts(pool, records.map((r) => r.id))).distinct === 5, { what: 'the timer flush' });
    await log.close();
  });

  it('flushes as soon as a full batch waits, without the timer, in writes of at most batchSize rows', async () => {
    const { log, metrics } = await newLog({ flushIntervalMs: 3_600_000, batchSize: 10 });
    await log.start();
    const writes = async () =>
      (await metrics.getSingleMetric('serving_prediction_log_flush_duration_seconds')!.get()).values.find((v) =>
        (v as { metricName?: string }).metricName?.endsWith('_count'),
      )?.value;
    const few = makeRecords(9);
    few.forEach((r) => log.append(r));
    assert.equal(log.pending(), 9, 'fewer than a batch waits for the timer');
    // The 10th record starts a write of 10; the other 15 arrive while it runs, a full batch is
    // waiting when it is done, and the next flush takes all 15.
    const more = makeRecords(16);
    more.forEach((r) => log.append(r));
    const ids = [...few, ...more].map((r) => r.id);
    await waitFor(async () => (await rowCounts(pool, ids)).distinct === 25, { what: 'the batch-triggered flushes' });
    assert.equal(await writes(), 3, '25 records in writes of 10, 10 and 5');
    assert.equal(log.pending(), 0);

    // A part batch that arrives during a write is not chased: it waits for the timer (or close).
    const batch = makeRecords(10);
    const late = makeRecords(3);
    batch.forEach((r) => log.append(r));
    late.forEach((r) => log.append(r));
    await waitFor(async () => (await rowCounts(pool, batch.map((r) => r.id))).distinct === 10, { what: 'the next full batch' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(log.pending(), 3);
    assert.equal((await rowCounts(pool, late.map((r) => r.id))).distinct, 0);
    assert.equal(await writes(), 4);
    await log.close();
    assert.equal((await rowCounts(pool, late.map((r) => r.id))).distinct, 3);
  });

  it('never writes a record twice, and still writes the new records batched with a repeated one', async () => {
    const { log, metrics } = await newLog({ flushIntervalMs: 3_600_000 });
    await log.start();
    const r = makeRecord();
    log.append(r);
    await log.flush();
    // The second batch's COPY meets r's row and fails as a whole; the idempotent path writes it.
    const others = makeRecords(3);
    for (const x of [others[0]!, r, others[1]!, others[2]!]) log.append(x);
    await log.flush();
    assert.deepEqual(await rowCounts(pool, [r, ...others].map((x) => x.id)), { total: 4, distinct: 4, missing: 0, duplicated: 0 });
    assert.equal(await metricValue(metrics, 'serving_prediction_log_written_total'), 4, 'the repeated row is not counted again');
    assert.equal(await metricValue(metrics, 'serving_prediction_log_rejected_total'), 0);
    await log.close();
  });

  it('finds a record by id while it is buffered, and no longer once it is written', async () => {
    const { log } = await newLog({ flushIntervalMs: 3_600_000 });
    await log.start();
    const r = makeRecord();
    log.append(r);
    assert.deepEqual(log.findPending(r.id.toUpperCase()), { at: r.at, classifier: true });
    assert.equal(log.findPending(makeRecord().id), null);
    await log.flush();
    assert.equal(log.findPending(r.id), null);
    await log.close();
  });

  it("lists an entity's buffered records across a large buffer, letting the event loop run between chunks", async () => {
    const { log } = await newLog({ flushIntervalMs: 3_600_000, batchSize: 5_000 });
    await log.start();
    const mine = [0, 999, 1_000, 2_499].map((i) => ({ i, r: makeRecord({ entityId: 'scan-me', score: i }) }));
    for (let i = 0; i < 2_500; i++) log.append(mine.find((m) => m.i === i)?.r ?? makeRecord({ entityId: `other-${i}` }));
    const immediate = new Promise<string>((resolve) => setImmediate(() => resolve('event loop')));
    const listing = log.pendingForEntity('scan-me');
    assert.equal(await Promise.race([immediate, listing.then(() => 'listing')]), 'event loop', 'other work runs before the scan ends');
    const found = await listing;
    assert.deepEqual(found.map((p) => p.id).sort(), mine.map((m) => m.r.id).sort());
    assert.deepEqual(await log.pendingForEntity('scan-me', 'another-model'), []);
    await log.flush();
    assert.deepEqual(await log.pendingForEntity('scan-me'), [], 'written records are the table\'s to show');
    await log.close();
  });

  it('writes everything still buffered on close, and close can be called twice', async () => {
    const { log } = await newLog({ flushIntervalMs: 3_600_000, batchSize: 1_000 });
    await log.start();
    const records = makeRecords(50);
    records.forEach((r) => log.append(r));
    await Promise.all([log.close(), log.close()]);
    await log.close();
    assert.equal((await rowCounts(pool, records.map((r) => r.id))).distinct, 50);
    assert.deepEqual(log.ready(), { ok: false, detail: 'prediction log closed' });
  });

  it('keeps a record appended after close in the spill file and writes it at the next start', async () => {
    const spillDir = await env.tmp();
    const { log } = await newLog({ spillDir });
    await log.start();
    await log.close();
    const late = makeRecord();
    assert.doesNotThrow(() => log.append(late));
    assert.equal(log.pending(), 0);
    assert.equal((await rowCounts(pool, [late.id])).distinct, 0);

    const { log: next } = await newLog({ spillDir });
    await next.start();
    await waitFor(() => !next.hasSpillBacklog(), { what: 'the replay' });
    assert.equal((await rowCounts(pool, [late.id])).distinct, 1);
    await next.close();
  });

  it('spills what does not fit in its ring, and every record still reaches the table exactly once', async () => {
    // A ring of 4 KiB holds about eight records: the rest find it full and go to the spill file.
    const { log, metrics } = await newLog({ ringBytes: 4_096, flushIntervalMs: 3_600_000, batchSize: 1_000, retryInitialMs: 20 });
    await log.start();
    const records = makeRecords(100);
    records.forEach((r) => log.append(r));
    assert.ok(log.findPending(records[99]!.id), 'a record waiting for the spill file is still found');
    await log.flush();
    const spilled = await metricValue(metrics, 'serving_prediction_log_spilled_total');
    assert.ok(spilled >= 80, `${spilled} spilled: most records did not fit`);
    await waitFor(async () => (await rowCounts(pool, records.map((r) => r.id))).distinct === 100, { what: 'the replay' });
    assert.deepEqual(await rowCounts(pool, records.map((r) => r.id)), { total: 100, distinct: 100, missing: 0, duplicated: 0 });
    await log.close();
  });

  it('spills when its COPY thread cannot reach Postgres, and the replay writes every record once', async () => {
    // The COPY thread's own connection goes nowhere; this thread's pool (replays) works.
    const { log, metrics } = await newLog({ databaseUrl: 'postgres://127.0.0.1:1/nowhere', flushIntervalMs: 20, retryInitialMs: 20, retryMaxMs: 100 });
    await log.start();
    const records = makeRecords(30);
    records.forEach((r) => log.append(r));
    await log.flush();
    assert.equal(await metricValue(metrics, 'serving_prediction_log_spilled_total'), 30);
    await waitFor(async () => (await rowCounts(pool, records.map((r) => r.id))).distinct === 30, { what: 'the replay' });
    assert.deepEqual(await rowCounts(pool, records.map((r) => r.id)), { total: 30, distinct: 30, missing: 0, duplicated: 0 });
    await log.close();
  });

  it('reports not ready before start and ready once started', async () => {
    const { log } = await newLog();
    assert.equal(log.ready().ok, false);
    await log.start();
    assert.deepEqual(log.ready(), { ok: true });
    await log.close();
  });

  it('sets aside a malformed record in the rejected file and writes the rest of its batch', async () => {
    const spillDir = await env.tmp();
    const { log, metrics } = await newLog({ spillDir, flushIntervalMs: 3_600_000 });
    await log.start();
    const good = makeRecords(4);
    const invalidDate = makeRecord({ at: new Date('not a date') });
    const beforePostgresCalendar = makeRecord({ at: new Date('-010000-01-01T00:00:00Z') });
    const notAUuid = makeRecord({ id: 'not-a-uuid' });
    for (const r of [good[0]!, invalidDate, good[1]!, beforePostgresCalendar, good[2]!, notAUuid, good[3]!]) log.append(r);
    await log.flush();
    assert.equal((await rowCounts(pool, good.map((r) => r.id))).distinct, 4);
    assert.equal(await metricValue(metrics, 'serving_prediction_log_rejected_total'), 3);
    assert.equal(await metricValue(metrics, 'serving_prediction_log_spilled_total'), 0, 'a data error is not an outage');
    assert.equal(log.pending(), 0);
    assert.equal(log.hasSpillBacklog(), false);
    const rejected = (await readFile(`${spillDir}/prediction-log.rejected.jsonl`, 'utf8')).trim().split('\n');
    assert.deepEqual(
      rejected.map((l) => (JSON.parse(l) as { id: string }).id).sort(),
      [invalidDate.id, beforePostgresCalendar.id, notAUuid.id].sort(),
    );
    const entries = rejected.map((l) => JSON.parse(l) as { id: string; reason: string; row?: string; record?: unknown });
    const byId = new Map(entries.map((e) => [e.id, e]));
    assert.match(byId.get(invalidDate.id)!.reason, /at is not a valid date/, 'refused before it became a row');
    assert.ok(byId.get(invalidDate.id)!.record, 'kept as the record serving made');
    assert.match(byId.get(notAUuid.id)!.reason, /uuid/, "Postgres's own reason");
    assert.equal(byId.get(notAUuid.id)!.row?.split('\t')[0], 'not-a-uuid', 'kept as the row Postgres refused');
    await log.close();
  });

  it('never throws from append, even for something that is not a record', async () => {
    const { log } = await newLog();
    assert.doesNotThrow(() => log.append(null as never));
    assert.equal(log.pending(), 0);
  });
});
