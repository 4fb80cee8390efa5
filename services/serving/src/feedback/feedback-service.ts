import { setTimeout as sleep } from 'node:timers/promises';
import type { LoggedPrediction } from '@contender/contracts';
import { ConflictError, NotFoundError, ServiceUnavailableError, UnprocessableError } from '@contender/platform';
import type { FoundPrediction, PgFeedbackStore, StoredFeedback } from './pg-feedback-store.js';
import type { PendingPrediction } from '../prediction-log/prediction-record.js';
import type { PgPredictionReadModel } from './pg-prediction-read-model.js';

/** What the feedback rules need from the prediction log: predictions not yet in the table. */
export interface UnwrittenPredictions {
  findPending(predictionId: string): FoundPrediction | null;
  pendingForEntity(entityId: string, model?: string): Promise<PendingPrediction[]>;
  hasSpillBacklog(): boolean;
}

export interface FeedbackServiceDeps {
  store: PgFeedbackStore;
  readModel: PgPredictionReadModel;
  log: UnwrittenPredictions;
  /**
   * How long to keep looking for an unknown prediction before answering 404: another replica may
   * have made it and not flushed it yet (its buffer is invisible from here).
   */
  notFoundGraceMs: number;
  now?: () => Date;
}

/** Grace-period polls: enough to cover a peer's flush interval without hammering the table. */
const GRACE_POLLS = 3;

export class FeedbackService {
  private readonly now: () => Date;

  constructor(private readonly deps: FeedbackServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /**
   * Stores the outcome of a prediction, once. The same label again is accepted and changes
   * nothing (the first `at` stays); a different label is refused with 409 `feedback_conflict`:
   * an outcome is a fact, and the scheduler may already have evaluated with the first one. The
   * outcome of a classifier's prediction must be 0 or 1 (422 `invalid_label`): AUC and the other
   * evaluation metrics read it as the positive class or not.
   */
  async record(input: { predictionId: string; label: number; at?: Date | undefined }): Promise<StoredFeedback> {
    const predictionId = input.predictionId.toLowerCase();
    const prediction = await this.findPrediction(predictionId);
    if (prediction.classifier && input.label !== 0 && input.label !== 1) {
      throw new UnprocessableError(
        'invalid_label',
        `label: prediction ${predictionId} was made by a classifier, so its outcome must be 0 or 1; got ${input.label}`,
        { field: 'label', predictionId, label: input.label },
      );
    }
    const inserted = await this.deps.store.insertIfAbsent({
      predictionId,
      predictionAt: prediction.at,
      label: input.label,
      at: input.at ?? this.now(),
    });
    if (inserted) return inserted;
    const existing = await this.deps.store.get(predictionId);
    // Only retention deletes feedback; losing that race means the prediction is gone too.
    if (!existing) throw new NotFoundError(`no prediction with id ${predictionId}`, 'prediction_not_found');
    if (existing.label !== input.label) {
      throw new ConflictError(
        `prediction ${predictionId} already has feedback with label ${existing.label}; an outcome cannot be changed`,
        { label: existing.label, at: existing.at.toISOString(), receivedAt: existing.receivedAt.toISOString() },
        'feedback_conflict',
      );
    }
    return existing;
  }

  /**
   * An entity's predictions, newest first: the table's, and this replica's not yet written (so a
   * client sees its own prediction at once, not after the next flush). Memory is read before the
   * table: a record leaves memory only once committed, so none in transit is missed, and one seen
   * in both is shown once. Another replica's unwritten predictions appear once it flushes.
   */
  async listPredictions(q: { entityId: string; model?: string | undefined; limit: number }): Promise<LoggedPrediction[]> {
    const pending = await this.deps.log.pendingForEntity(q.entityId, q.model);
    const stored = await this.deps.readModel.listForEntity(q);
    const inTable = new Set(stored.map((p) => p.predictionId));
    const unwritten = pending.filter((p) => !inTable.has(p.id));
    if (unwritten.length === 0) return stored;
    const merged = stored.concat(await this.deps.readModel.withOutcomes(unwritten));
    // The table's order: newest first, ties by id (lower-case UUIDs compare as their bytes do).
    merged.sort((a, b) => (a.at === b.at ? (a.predictionId < b.predictionId ? 1 : -1) : a.at < b.at ? 1 : -1));
    return merged.slice(0, q.limit);
  }

  /**
   * The prediction's `at`. The order of the checks matters: a record leaves the log's memory only
   * after it is committed or spilled (setting the backlog flag first), so reading memory, then
   * the flag, then the table cannot miss a record in transit between them.
   */
  private async findPrediction(predictionId: string): Promise<FoundPrediction> {
    const pending = this.deps.log.findPending(predictionId);
    if (pending) return pending;
    const backlog = this.deps.log.hasSpillBacklog();
    const deadline = Date.now() + this.deps.notFoundGraceMs;
    for (let poll = 0; ; poll++) {
      const found = await this.deps.store.findPrediction(predictionId);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0 || poll >= GRACE_POLLS) break;
      await sleep(Math.min(left, this.deps.notFoundGraceMs / GRACE_POLLS));
    }
    if (backlog) {
      // It may be in the spill file, waiting for Postgres: not knowing is not "unknown".
      throw new ServiceUnavailableError(
        'prediction_log_catching_up',
        'recent predictions are still being written to the database; retry in a few seconds',
      );
    }
    throw new NotFoundError(`no prediction with id ${predictionId}`, 'prediction_not_found');
  }
}
