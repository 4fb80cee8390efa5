import type { Pool, PoolClient } from '@contender/platform';
import { quoteIdent, withTransaction } from '@contender/platform';
import { addDays, partitionName, planPartitions, utcDay } from './partition-plan.js';

export interface MaintenanceResult {
  created: string[];
  dropped: string[];
  /** Rows moved out of the DEFAULT partition into the day partitions just created. */
  moved: number;
  /** Rows older than the retention period deleted from the DEFAULT partition. */
  expiredDefaultRows: number;
  /** Feedback rows deleted with their predictions' days. */
  expiredFeedback: number;
}

// Maintenance only needs a moment's lock on the parent, the DEFAULT partition or an old partition.
// Waiting behind a long query (the scheduler's evaluation reads these tables) would queue every
// insert behind the waiting DDL, so it gives up instead and the next run tries again.
const LOCK_TIMEOUT = "SET LOCAL lock_timeout = '3s'";
const ADVISORY_LOCK = 'SELECT pg_advisory_xact_lock(hashtext($1))';
const LOCK_KEY = 'contender:serving:prediction-partitions';
const LIST_PARTITIONS = `
  SELECT c.relname AS name
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
  WHERE i.inhparent = 'serving.prediction'::regclass`;
const DEFAULT_DAYS = `
  SELECT DISTINCT date_trunc('day', at, 'UTC') AS day
  FROM serving.prediction_default
  WHERE at >= $1 AND at < $2`;
const LOCK_DEFAULT = 'LOCK TABLE serving.prediction_default IN SHARE ROW EXCLUSIVE MODE';
const DEFAULT_HAS_ROWS = 'SELECT EXISTS (SELECT 1 FROM serving.prediction_default WHERE at >= $1 AND at < $2) AS any';
const EXPIRE_DEFAULT = 'DELETE FROM serving.prediction_default WHERE at < $1';
const EXPIRE_FEEDBACK = 'DELETE FROM serving.feedback WHERE prediction_at < $1';

/**
 * Daily partitions of serving.prediction. Safe with several replicas: everything runs in one
 * transaction under an advisory lock, so replicas take turns and each sees what the previous one
 * did; a replica that finds the work done does nothing.
 */
export class PgPredictionPartitions {
  constructor(private readonly pool: Pool) {}

  async list(): Promise<string[]> {
    const { rows } = await this.pool.query<{ name: string }>(LIST_PARTITIONS);
    return rows.map((r) => r.name).sort();
  }

  /**
   * Creates the partitions of today and `daysAhead` days after it, moves rows out of the DEFAULT
   * partition into the partition of their day once that day is in the window, and deletes what is
   * older than `retentionDays` (whole partitions, stray DEFAULT rows, their feedback).
   */
  maintain(opts: { now: Date; retentionDays: number; daysAhead: number }): Promise<MaintenanceResult> {
    return withTransaction(this.pool, async (tx) => {
      await tx.query(LOCK_TIMEOUT);
      await tx.query(ADVISORY_LOCK, [LOCK_KEY]);
      const existing = new Set((await tx.query<{ name: string }>(LIST_PARTITIONS)).rows.map((r) => r.name));
      const plan = planPartitions({ ...opts, existing: [...existing] });
      const windowEnd = addDays(plan.ahead[plan.ahead.length - 1] ?? utcDay(opts.now), 1);

      const stray = (await tx.query<{ day: Date }>(DEFAULT_DAYS, [plan.keepFrom, windowEnd])).rows.map((r) => r.day);
      const days = [...plan.ahead, ...stray]
        .filter((d, i, all) => all.findIndex((o) => o.getTime() === d.getTime()) === i)
        .filter((d) => !existing.has(partitionName(d)))
        .sort((a, b) => a.getTime() - b.getTime());

      const result: MaintenanceResult = { created: [], dropped: [], moved: 0, expiredDefaultRows: 0, expiredFeedback: 0 };
      if (days.length > 0) {
        // No insert may put a row of a day into DEFAULT between our move and the attach that
        // claims that day (the attach would then fail). Only inserts routed to DEFAULT wait.
        await tx.query(LOCK_DEFAULT);
        for (const day of days) {
          result.moved += await createDayPartition(tx, day);
          result.created.push(partitionName(day));
        }
      }
      for (const name of plan.drop) {
        await tx.query(`DROP TABLE IF EXISTS serving.${quoteIdent(name)}`);
        result.dropped.push(name);
      }
      result.expiredDefaultRows = (await tx.query(EXPIRE_DEFAULT, [plan.keepFrom])).rowCount ?? 0;
      result.expiredFeedback = (await tx.query(EXPIRE_FEEDBACK, [plan.keepFrom])).rowCount ?? 0;
      return result;
    });
  }
}

/**
 * Creates the day's partition as a plain table, fills it with the day's rows from DEFAULT, then
 * attaches it. ATTACH PARTITION needs only a SHARE UPDATE EXCLUSIVE lock on the parent, so inserts
 * and reads go on meanwhile (CREATE TABLE … PARTITION OF would block them all). Returns how many
 * rows moved.
 */
async function createDayPartition(tx: PoolClient, day: Date): Promise<number> {
  const from = day;
  const to = addDays(day, 1);
  const table = `serving.${quoteIdent(partitionName(day))}`;
  await tx.query(`CREATE TABLE ${table} (LIKE serving.prediction INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
  let moved = 0;
  const { rows } = await tx.query<{ any: boolean }>(DEFAULT_HAS_ROWS, [from, to]);
  if (rows[0]?.any) {
    const res = await tx.query(
      `WITH moved AS (DELETE FROM serving.prediction_default WHERE at >= $1 AND at < $2 RETURNING *)
       INSERT INTO ${table} SELECT * FROM moved`,
      [from, to],
    );
    moved = res.rowCount ?? 0;
  }
  // DDL takes no parameters; both bounds come from Date.toISOString(), never from input.
  await tx.query(
    `ALTER TABLE serving.prediction ATTACH PARTITION ${table} FOR VALUES FROM (${timestampLiteral(from)}) TO (${timestampLiteral(to)})`,
  );
  return moved;
}

function timestampLiteral(t: Date): string {
  const iso = t.toISOString();
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(iso)) throw new Error(`unexpected timestamp ${iso}`);
  return `'${iso}'`;
}
