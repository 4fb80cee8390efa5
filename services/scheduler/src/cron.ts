import cron from 'node-cron';

/** node-cron's own matcher, so that the occurrences computed here are the ones its timers fire at. */
interface TimeMatcher {
  getNextMatch(from: Date): Date;
}

const matchers = new Map<string, TimeMatcher>();

function matcherOf(expression: string): TimeMatcher {
  let m = matchers.get(expression);
  if (!m) {
    // A task that is created, never started: node-cron exposes its parser only through tasks.
    const task = cron.createTask(expression, () => {}, { timezone: 'UTC' }) as unknown as { timeMatcher: TimeMatcher };
    m = task.timeMatcher;
    if (matchers.size > 1_000) matchers.clear();
    matchers.set(expression, m);
  }
  return m;
}

/** Why `expression` is not a valid node-cron expression, or null when it is. */
export function cronProblem(expression: string): string | null {
  const fields = expression.trim().split(/\s+/);
  if (fields.length < 5 || fields.length > 6) return `expected 5 fields (minute hour day month weekday) or 6 (with seconds first), got ${fields.length}`;
  const r = cron.validateDetailed(expression);
  if (r.valid) return null;
  return r.errors.map((e) => `${e.field}: ${e.message}`).join('; ') || 'invalid cron expression';
}

/** The first occurrence strictly after `after` (UTC). */
export function nextOccurrence(expression: string, after: Date): Date {
  return matcherOf(expression).getNextMatch(after);
}

export interface MissedOccurrences {
  count: number;
  /** true when the scan stopped at `limit` and the real count is larger */
  capped: boolean;
  first: Date | null;
  latest: Date | null;
}

/**
 * The occurrences in (after, until]. The scan starts no earlier than `until - maxWindowMs` and
 * counts at most `limit`, so a per-second schedule after a week of downtime stays cheap; `capped`
 * then says the count is a lower bound.
 */
export function occurrencesBetween(expression: string, after: Date, until: Date, opts: { limit?: number; maxWindowMs?: number } = {}): MissedOccurrences {
  const limit = opts.limit ?? 100_000;
  const maxWindowMs = opts.maxWindowMs ?? 24 * 3_600_000;
  let capped = false;
  let from = after;
  if (until.getTime() - after.getTime() > maxWindowMs) {
    from = new Date(until.getTime() - maxWindowMs);
    capped = true;
  }
  const m = matcherOf(expression);
  let count = 0;
  let first: Date | null = null;
  let latest: Date | null = null;
  for (let t = m.getNextMatch(from); t.getTime() <= until.getTime(); t = m.getNextMatch(t)) {
    if (count === limit) {
      capped = true;
      // Only the latest matters past the cap: keep walking without counting, bounded by the window.
      latest = t;
      continue;
    }
    count++;
    first ??= t;
    latest = t;
  }
  return { count, capped, first, latest };
}
