/**
 * The errors a step throws to tell the runner what to do (as BullMQ's UnrecoverableError does).
 * Anything else a step throws is retried up to the step's `retries.max`, then fails the run.
 */

/** Ends the run as `skipped` with this reason (too few rows, no reference profile…): not a failure. */
export class SkipRun extends Error {
  override readonly name = 'SkipRun';
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** Fails the step at once, with no retry left: retrying cannot help (bad params, missing dataset). */
export class UnrecoverableStepError extends Error {
  override readonly name = 'UnrecoverableStepError';
  constructor(message: string, readonly details?: Record<string, unknown>) {
    super(message);
  }
}
