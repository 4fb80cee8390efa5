import type { MissedOccurrences } from '../../cron.js';
import type { MissedRunPolicy } from '@contender/pipeline';

/** The reason a new run is recorded as skipped, or null when it may run (maxActiveRuns per DAG and model). */
export function overlapReason(dag: string, model: string, active: number, maxActiveRuns: number): string | null {
  if (active < maxActiveRuns) return null;
  return `overlap: ${active} run${active === 1 ? '' : 's'} of ${dag} for ${model} already active (maxActiveRuns ${maxActiveRuns})`;
}

export interface MissedRunPlan {
  /** the occurrence the one recorded run stands for: the latest missed */
  scheduledFor: Date;
  cause: string;
  /** set for `skip`: the run is recorded as skipped with this reason */
  skipReason?: string;
}

/**
 * What to record for the occurrences no replica claimed: one run for the latest, skipped with a
 * reason that counts them all (`skip`, the default) or run once (`once`); null when none.
 */
export function missedRunPlan(missed: MissedOccurrences, policy: MissedRunPolicy | undefined): MissedRunPlan | null {
  if (missed.count === 0 || !missed.latest || !missed.first) return null;
  const n = `${missed.capped ? 'at least ' : ''}${missed.count}`;
  const what = `${n} occurrence${missed.count === 1 ? '' : 's'} from ${missed.first.toISOString()} to ${missed.latest.toISOString()} passed with no scheduler replica up to claim ${missed.count === 1 ? 'it' : 'them'}`;
  if (policy === 'once') return { scheduledFor: missed.latest, cause: `missed: ${what}; the latest runs once (missedRuns: once)` };
  return { scheduledFor: missed.latest, cause: `missed: ${what}`, skipReason: `missed: ${what} (missedRuns: skip)` };
}
