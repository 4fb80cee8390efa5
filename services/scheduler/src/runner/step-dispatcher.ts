import type PgBoss from 'pg-boss';
import type { Queryable } from '@contender/platform';
import type { StepPolicy } from '../features/dags/dag-catalog.js';

export const STEP_QUEUE = 'scheduler-step';

/** One pg-boss job: run step `step` of run `runId`, valid while the run's dispatch_seq is `seq`. */
export interface StepJob {
  runId: number;
  step: string;
  seq: number;
}

/** pg-boss retries in whole seconds; a smaller backoff is rounded up to one. */
export function retryDelaySeconds(backoffMs: number): number {
  return backoffMs <= 0 ? 0 : Math.max(1, Math.ceil(backoffMs / 1000));
}

/**
 * The longest pg-boss waits before retry `retryCount + 1` (its backoff is
 * delay · 2^n · (1 + random), n = retries so far): how long the run's lease must allow.
 */
export function maxRetryWaitMs(policy: StepPolicy, retryCount: number): number {
  return retryDelaySeconds(policy.retries.backoffMs) * 1000 * 2 ** Math.min(16, retryCount + 1);
}

/** Sends step jobs to pg-boss inside the caller's transaction, so a run and its dispatch commit together. */
export class StepDispatcher {
  constructor(private readonly boss: PgBoss) {}

  async dispatch(tx: Queryable, job: StepJob, policy: StepPolicy, opts: { failures?: number } = {}): Promise<void> {
    const retryLimit = Math.max(0, policy.retries.max - (opts.failures ?? 0));
    await this.boss.send(STEP_QUEUE, job, {
      retryLimit,
      retryDelay: retryDelaySeconds(policy.retries.backoffMs),
      retryBackoff: true,
      // The runner aborts the attempt at its own timeout; pg-boss's expiry only catches a handler
      // that hangs past it. A lost worker is found by the lease, long before this.
      expireInSeconds: Math.ceil(policy.timeoutMs / 1000) + 120,
      db: { executeSql: (text: string, values: unknown[]) => tx.query(text, values) as Promise<{ rows: unknown[] }> },
    });
  }
}
