/**
 * Prediction table benchmark (not a test): what Postgres spends on serving.prediction.
 *
 *   npm run bench:prediction-table   (= npm run build && node services/serving/dist/bench/bench-prediction-table.js)
 *
 * 1. COPY: batches of BATCH rows (real feature rows of the Taiwan credit data, 1,000 entities)
 *    through the prediction log's own COPY, with version 4 (random) and version 7 (time-ordered)
 *    ids, into a fresh database each; prints the Postgres backend's CPU per row (from
 *    /proc/<pid>/stat, so Postgres must run on this machine) and the wall time per row, for the
 *    first ROWS/10 rows and for all ROWS.
 * 2. Feedback lookups: 35 day partitions holding LOOKUP_ROWS rows, and 1,000 lookups of recent
 *    predictions by id alone (every partition) and the way PgFeedbackStore looks up a v7 id (the
 *    days around the id's time).
 * Needs Postgres like the tests (TEST_DATABASE_URL). Environment: BENCH_ROWS (default 500,000),
 * BENCH_BATCH (470, what a flush writes at 7,000 req/s), BENCH_LOOKUP_ROWS (200,000).
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { TAIWAN_CREDIT_CSV, TAIWAN_CREDIT_LABEL } from '@contender/fixtures';
import { loadCsvDataset } from '@contender/ml';
import { createPool, type Pool } from '@contender/platform';
import { createTestDatabase } from '@contender/platform/testing';
import { PgFeedbackStore } from '../feedback/pg-feedback-store.js';
import { PredictionIdFactory } from '../predict/prediction-id.js';
import { migrateServing } from '../prediction-log/migrate.js';
import { PgPredictionPartitions } from '../prediction-log/pg-prediction-partitions.js';
import { PgPredictionStore } from '../prediction-log/pg-prediction-store.js';
import { toLogRow, type LogRow } from '../prediction-log/prediction-record.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 500_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 470);
const LOOKUP_ROWS = Number(process.env.BENCH_LOOKUP_ROWS ?? 200_000);
const DAY = 86_400_000;

async function main(): Promise<void> {
  const ds = await loadCsvDataset(TAIWAN_CREDIT_CSV, { label: TAIWAN_CREDIT_LABEL, drop: ['ID'] });
  const features = Array.from({ length: 1_000 }, (_, i) =>
    Object.fromEntries(ds.featureNames.map((n, j) => [n, ds.X.data[i * ds.X.cols + j]!])),
  );
  console.log(`COPY into serving.prediction: ${ROWS} rows in batches of ${BATCH}, 23 features each`);
  console.log('| ids | Postgres CPU µs/row, first tenth | all rows | wall µs/row, all rows |');
  console.log('|---|---:|---:|---:|');
  for (const kind of ['v4', 'v7', 'v4', 'v7'] as const) {
    const v7 = new PredictionIdFactory();
    const nextId = kind === 'v7' ? () => v7.next() : randomUUID;
    await withDatabase(`bench_copy_${kind}`, async (pool) => {
      await new PgPredictionPartitions(pool).maintain({ now: new Date(), retentionDays: 30, daysAhead: 0 });
      const store = new PgPredictionStore(pool, { writeTimeoutMs: 60_000 });
      const backend = await backendOf(pool);
      let seq = 0;
      const batch = (): LogRow[] =>
        Array.from({ length: BATCH }, () => {
          const e = seq++ % features.length;
          return toLogRow({
            id: nextId(),
            requestId: randomUUID(),
            at: new Date(),
            model: 'credit',
            version: 1,
            variant: 'champion',
            entityId: `c-${e}`,
            features: features[e]!,
            score: 0.2,
            label: 0,
            latencyMs: 1.5,
            fallback: false,
          });
        });
      const cpu0 = await backend.cpuSeconds();
      const t0 = performance.now();
      let tenth: number | null = null;
      for (let written = 0; written < ROWS; written += BATCH) {
        await store.copy(batch());
        if (tenth === null && written + BATCH >= ROWS / 10) tenth = ((await backend.cpuSeconds()) - cpu0) / (written + BATCH);
      }
      const all = ((await backend.cpuSeconds()) - cpu0) / ROWS;
      const wall = (performance.now() - t0) / 1000 / ROWS;
      console.log(`| ${kind} | ${us(tenth!)} | ${us(all)} | ${us(wall)} |`);
    });
  }

  console.log(`\nFeedback lookups: 35 day partitions, ${LOOKUP_ROWS} rows with v7 ids, 1,000 lookups of the last 3 days' predictions`);
  await withDatabase('bench_lookup', async (pool) => {
    const today = Math.floor(Date.now() / DAY) * DAY;
    // 35 day partitions, 31 days back to 3 ahead, as serving's maintenance makes them.
    await new PgPredictionPartitions(pool).maintain({ now: new Date(today - 31 * DAY), retentionDays: 30, daysAhead: 34 });
    const store = new PgPredictionStore(pool, { writeTimeoutMs: 60_000 });
    const span = 34 * DAY;
    const start = today - 31 * DAY;
    const rows: LogRow[] = [];
    for (let i = 0; i < LOOKUP_ROWS; i++) {
      const at = start + Math.floor((i / LOOKUP_ROWS) * span);
      const id = new PredictionIdFactory(() => at).next();
      rows.push(toLogRow({ id, requestId: 'r', at: new Date(at), model: 'credit', version: 1, variant: 'champion', entityId: `c-${i % 1000}`, features: features[i % 1000]!, score: 0.2, label: 0, latencyMs: 1, fallback: false }));
      if (rows.length === 5_000) await store.copy(rows.splice(0));
    }
    if (rows.length) await store.copy(rows);
    await pool.query('ANALYZE serving.prediction');
    const { rows: recent } = await pool.query<{ id: string }>(
      `SELECT id::text FROM serving.prediction WHERE at >= now() - interval '3 days' ORDER BY random() LIMIT 1000`,
    );
    const backend = await backendOf(pool);
    const byIdOnly = 'SELECT at, label IS NOT NULL AS classifier FROM serving.prediction WHERE id = $1 LIMIT 1';
    const feedbackStore = new PgFeedbackStore(pool);
    console.log('| lookup | Postgres CPU µs/lookup | wall ms/lookup |');
    console.log('|---|---:|---:|');
    for (let round = 0; round < 2; round++) {
      for (const [name, find] of [
        ['by id alone (every partition)', (id: string) => pool.query(byIdOnly, [id])],
        ['PgFeedbackStore (days around the v7 id)', (id: string) => feedbackStore.findPrediction(id)],
      ] as const) {
        const cpu0 = await backend.cpuSeconds();
        const t0 = performance.now();
        for (const { id } of recent) await find(id);
        console.log(`| ${name} | ${us(((await backend.cpuSeconds()) - cpu0) / recent.length)} | ${((performance.now() - t0) / recent.length).toFixed(3)} |`);
      }
    }
  });
}

const us = (seconds: number) => (seconds * 1e6).toFixed(1);

async function withDatabase(label: string, work: (pool: Pool) => Promise<void>): Promise<void> {
  const db = await createTestDatabase(label);
  // One connection, so every statement runs in the backend whose CPU is measured.
  const pool = createPool(db.url, { max: 1 });
  try {
    await migrateServing(pool);
    await work(pool);
  } finally {
    await pool.end();
    await db.drop();
  }
}

/**
 * The CPU used so far by the backend process of the pool's one connection, from /proc. Throws if
 * the connection was replaced meanwhile (its CPU would then be lost from the count).
 */
async function backendOf(pool: Pool): Promise<{ cpuSeconds(): Promise<number> }> {
  const pidNow = async () => (await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  const pid = await pidNow();
  return {
    async cpuSeconds() {
      if ((await pidNow()) !== pid) throw new Error('the measured connection was replaced');
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    },
  };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
