/**
 * A process that dies holding predictions in memory, for last-words.int.test.ts. It wires its
 * prediction log the way serving's main.ts does (handleSignals and handleFatalErrors with the
 * log's saveUnwrittenSync as last words), prints `{"ready":true}` once the log has started, and
 * waits for a line on stdin. Then it appends DYING_RECORDS records that the log's timer would not
 * flush for a minute — with DYING_FLUSH=1 it also starts a flush and gives it 200 ms, for a test
 * that has made Postgres stop answering meanwhile — prints `{"ids":[…]}`, and dies as DYING_MODE
 * says:
 *
 *   uncaught-exception      a callback throws
 *   unhandled-rejection     a promise is rejected with nobody listening
 *   shutdown-past-deadline  waits for SIGTERM, whose shutdown never finishes (deadline 300 ms)
 *
 * DATABASE_URL is a migrated database, DYING_SPILL_DIR the log's spill folder. Logs go to stdout
 * at level error.
 */
import { createLogger, createMetricsRegistry, createPool, handleFatalErrors, handleSignals } from '@contender/platform';
import { PredictionLog } from '../prediction-log/prediction-log.js';
import { makeRecords } from '../prediction-log/test-helpers.js';

const mode = process.env.DYING_MODE;
const logger = createLogger('serving', 'error');
const pool = createPool(process.env.DATABASE_URL!, { max: 2 });
const log = new PredictionLog({
  pool,
  databaseUrl: process.env.DATABASE_URL!,
  logger,
  metrics: createMetricsRegistry('serving', { defaultMetrics: false }),
  spillDir: process.env.DYING_SPILL_DIR!,
  flushIntervalMs: 60_000,
  batchSize: 100_000,
});
await log.start();

const lastWords = () => void log.saveUnwrittenSync();
handleSignals(logger, () => new Promise<void>(() => {}), 300, lastWords);
handleFatalErrors(logger, lastWords);
// Keeps the process alive until it dies as told (the log's own timers do not).
setInterval(() => {}, 1_000);

process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
await new Promise((resolve) => process.stdin.once('data', resolve));

const records = makeRecords(Number(process.env.DYING_RECORDS ?? 100));
for (const r of records) log.append(r);
if (process.env.DYING_FLUSH === '1') {
  void log.flush().catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, 200));
}
process.stdout.write(`${JSON.stringify({ ids: records.map((r) => r.id) })}\n`);

if (mode === 'uncaught-exception') {
  setImmediate(() => {
    throw new Error('a bug somewhere in a callback');
  });
} else if (mode === 'unhandled-rejection') {
  void Promise.reject(new Error('a promise nobody awaited'));
} else if (mode !== 'shutdown-past-deadline') {
  throw new Error(`DYING_MODE ${String(mode)} is not one of uncaught-exception, unhandled-rejection, shutdown-past-deadline`);
}
