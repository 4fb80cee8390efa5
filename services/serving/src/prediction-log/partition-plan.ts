/**
 * Which daily partitions of serving.prediction should exist at a given moment. Pure, so the
 * calendar arithmetic is tested without a database. Days are UTC days: every replica, whatever
 * its time zone, agrees on the bounds.
 */

const DAY_MS = 86_400_000;
const NAME = /^prediction_p(\d{4})(\d{2})(\d{2})$/;

/** Midnight UTC of the day holding `t`. */
export function utcDay(t: Date): Date {
  return new Date(Math.floor(t.getTime() / DAY_MS) * DAY_MS);
}

export function addDays(day: Date, n: number): Date {
  return new Date(day.getTime() + n * DAY_MS);
}

/** `prediction_p20261121` for the UTC day starting at `day`. */
export function partitionName(day: Date): string {
  return `prediction_p${day.toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/** The UTC day a partition name stands for, or null for a name that is not a day partition. */
export function partitionDay(name: string): Date | null {
  const m = NAME.exec(name);
  if (!m) return null;
  const day = new Date(`${m[1]}-${m[2]}-${m[3]}T00:00:00.000Z`);
  return Number.isNaN(day.getTime()) || partitionName(day) !== name ? null : day;
}

export interface PartitionPlan {
  /** Oldest day kept: rows and partitions of earlier days are deleted. */
  keepFrom: Date;
  /** Days from today through `daysAhead` after it, oldest first. */
  ahead: Date[];
  /** Existing day partitions older than `keepFrom`, oldest first. */
  drop: string[];
}

/**
 * Retention keeps today and the `retentionDays` days before it, so a row is deleted no sooner
 * than `retentionDays` full days after it was written.
 */
export function planPartitions(opts: { now: Date; retentionDays: number; daysAhead: number; existing: string[] }): PartitionPlan {
  const today = utcDay(opts.now);
  const keepFrom = addDays(today, -opts.retentionDays);
  const ahead = Array.from({ length: opts.daysAhead + 1 }, (_, i) => addDays(today, i));
  const drop = opts.existing
    .map((name) => ({ name, day: partitionDay(name) }))
    .filter((p): p is { name: string; day: Date } => p.day !== null && p.day < keepFrom)
    .sort((a, b) => a.day.getTime() - b.day.getTime())
    .map((p) => p.name);
  return { keepFrom, ahead, drop };
}
