import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createLogger, createMetricsRegistry, createPool, type Pool } from '@contender/platform';
import { addDays, partitionName, utcDay } from './partition-plan.js';
import { PgPredictionPartitions } from './pg-prediction-partitions.js';
import { PgPredictionStore } from './pg-prediction-store.js';
import { PredictionLog } from './prediction-log.js';
import { insertRecords, makeRecord, rowCounts, setUpLogDatabase } from './test-helpers.js';

let env: Awaited<ReturnType<typeof setUpLogDatabase>>;
let pool: Pool;
let partitions: PgPredictionPartitions;
let store: PgPredictionStore;

const today = utcDay(new Date());
const names = (days: number[]) => days.map((d) => partitionName(addDays(today, d)));
const dayPartitions = async () => (await partitions.list()).filter((n) => n !== 'prediction_default');

before(async () => {
  env = await setUpLogDatabase('prediction_partitions');
  pool = env.pool;
  partitions = new PgPredictionPartitions(pool);
  store = new PgPredictionStore(pool, { writeTimeoutMs: 5_000 });
});
after(async () => {
  await env.tearDown();
});
beforeEach(async () => {
  for (const name of await dayPartitions()) await pool.query(`DROP TABLE serving.${name}`);
  await pool.query('TRUNCATE serving.prediction, serving.feedback');
});

async function partitionOf(id: string): Promise<string> {
  const { rows } = await pool.query<{ p: string }>('SELECT tableoid::regclass::text AS p FROM serving.prediction WHERE id = $1', [id]);
  return rows[0]?.p ?? '(none)';
}

describe('prediction partitions', () => {
  it('creates the partitions of today and the days ahead, and a second run changes nothing', async () => {
    const first = await partitions.maintain({ now: new Date(), retentionDays: 30, daysAhead: 3 });
    assert.deepEqual(first.created, names([0, 1, 2, 3]));
    assert.deepEqual(await dayPartitions(), names([0, 1, 2, 3]));
    const second = await partitions.maintain({ now: new Date(), retentionDays: 30, daysAhead: 3 });
    assert.deepEqual(second.created, []);
    const r = makeRecord({ at: addDays(today, 2) });
    await insertRecords(store, [r]);
    assert.equal(await partitionOf(r.id), `serving.${partitionName(addDays(today, 2))}`);
  });

  it('gives every partition the primary key and the entity index', async () => {
    await partitions.maintain({ now: new Date(), retentionDays: 30, daysAhead: 0 });
    const { rows } = await pool.query<{ indexdef: string }>('SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2', [
      'serving',
      partitionName(today),
    ]);
    const defs = rows.map((r) => r.indexdef).join('\n');
    assert.match(defs, /UNIQUE INDEX .* \(id, at\)/);
    assert.match(defs, /\(entity_id, model, at DESC\)/);
  });

  it('drops partitions older than the retention period, with their feedback, and keeps the rest', async () => {
    await partitions.maintain({ now: addDays(today, -40), retentionDays: 30, daysAhead: 40 });
    const old = makeRecord({ at: addDays(today, -31) });
    const kept = makeRecord({ at: addDays(today, -30) });
    await insertRecords(store, [old, kept]);
    await pool.query('INSERT INTO serving.feedback (prediction_id, prediction_at, label, at) VALUES ($1, $2, 1, now()), ($3, $4, 0, now())', [
      old.id,
      old.at,
      kept.id,
      kept.at,
    ]);

    const result = await partitions.maintain({ now: new Date(), retentionDays: 30, daysAhead: 3 });
    assert.deepEqual(result.dropped, names(Array.from({ length: 10 }, (_, i) => -40 + i)));
    assert.equal(result.expiredFeedback, 1);
    assert.deepEqual(await dayPartitions(), names(Array.from({ length: 34 }, (_, i) => -30 + i)));
    assert.deepEqual(await rowCounts(pool, [old.id, kept.id]), { total: 1, distinct: 1, missing: 1, duplicated: 0 });
    const { rows } = await pool.query<{ id: string }>('SELECT prediction_id AS id FROM serving.feedback');
    assert.deepEqual(rows.map((r) => r.id), [kept.id]);
  });

  it('takes a row whose day has no partition into DEFAULT, then moves it to its day partition once created', async () => {
    await partitions.maintain({ now: new Date(), retentionDays: 30, daysAhead: 1 });
    const early = makeRecord({ at: addDays(today, 5) });
    const sameDay = makeRecord({ at: new Date(addDays(today, 5).getTime() + 3_600_000) });
    await insertRecords(store, [early, sameDay]);
    assert.equal(await partitionOf(early.id), 'serving.prediction_default');

    const result = await partitions.maintain({ now: addDays(today, 4), retentionDays: 30, daysAhead: 1 });
    assert.equal(result.moved, 2);
    assert.equal(await partitionOf(early.id), `serving.${partitionName(addDays(today, 5))}`);
    assert.equal(await partitionOf(sameDay.id), `serving.${partitionName(addDays(today, 5))}`);
    assert.equal((await pool.query('SELECT count(*)::int AS n FROM serving.prediction_default')).rows[0].n, 0);
  });

  it('moves DEFAULT rows of a past day within retention into a partition of their own', async () => {
    const late = makeRecord({ at: addDays(today, -3) });
    await insertRecords(store, [late]);
    assert.equal(await partitionOf(late.id), 'serving.prediction_default');
    const result = await partitions.maintain({ now: new Date(), retentionDays: 30, daysAhead: 0 });
    assert.deepEqual(result.created, names([-3, 0]));
    assert.equal(await partitionOf(late.id), `serving.${partitionName(addDays(today, -3))}`);
  });

  it('deletes DEFAULT rows older than the retention period', async () => {
    const ancient = makeRecord({ at: addDays(today, -45) });
    await insertRecords(store, [ancient]);
    const result = await partitions.maintain({ now: new Date(), retentionDays: 30, daysAhead: 0 });
    assert.equal(result.expiredDefaultRows, 1);
    assert.equal((await rowCounts(pool, [ancient.id])).distinct, 0);
  });

  it('lets several replicas maintain at once: each partition is created exactly once, none fails', async () => {
    const pools = Array.from({ length: 4 }, () => createPool(env.db.url, { max: 1 }));
    try {
      const results = await Promise.all(
        pools.map((p) => new PgPredictionPartitions(p).maintain({ now: new Date(), retentionDays: 30, daysAhead: 3 })),
      );
      assert.deepEqual(results.flatMap((r) => r.created).sort(), names([0, 1, 2, 3]));
      assert.deepEqual(await dayPartitions(), names([0, 1, 2, 3]));
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('is run by the prediction log at start, with its retention and its clock', async () => {
    await partitions.maintain({ now: addDays(today, -20), retentionDays: 30, daysAhead: 0 });
    const log = new PredictionLog({
      pool,
      databaseUrl: env.db.url,
      logger: createLogger('serving', 'silent'),
      metrics: createMetricsRegistry('serving', { defaultMetrics: false }),
      spillDir: await env.tmp(),
      retentionDays: 7,
      partitionDaysAhead: 2,
      now: () => new Date(today.getTime() + 3_600_000),
    });
    await log.start();
    await log.close();
    assert.deepEqual(await dayPartitions(), names([0, 1, 2]));
  });

  it('accepts writes while it creates and attaches partitions', async () => {
    await partitions.maintain({ now: new Date(), retentionDays: 30, daysAhead: 0 });
    const ids: string[] = [];
    const writes = (async () => {
      for (let i = 0; i < 20; i++) {
        const r = makeRecord({ id: randomUUID() });
        ids.push(r.id);
        await insertRecords(store, [r]);
      }
    })();
    await partitions.maintain({ now: addDays(today, 1), retentionDays: 30, daysAhead: 3 });
    await writes;
    assert.equal((await rowCounts(pool, ids)).distinct, 20);
  });
});
