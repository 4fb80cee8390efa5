import type { LoggedPrediction, LoggedVariant } from '@contender/contracts';
import type { Queryable } from '@contender/platform';
import type { PendingPrediction } from '../prediction-log/prediction-record.js';

interface Row {
  id: string;
  request_id: string;
  at: Date;
  model: string;
  version: number;
  variant: LoggedVariant;
  score: number;
  label: number | null;
  fallback: boolean;
  outcome_label: number | null;
  outcome_at: Date | null;
  outcome_received_at: Date | null;
}

const SELECT = `
  SELECT p.id, p.request_id, p.at, p.model, p.version, p.variant, p.score, p.label, p.fallback,
         f.label AS outcome_label, f.at AS outcome_at, f.received_at AS outcome_received_at
  FROM serving.prediction p
  LEFT JOIN serving.feedback f ON f.prediction_id = p.id`;
// Two texts rather than "($2 IS NULL OR model = $2)", which would keep the planner from using
// the (entity_id, model, at DESC) index for the common, model-filtered query.
const BY_ENTITY = `${SELECT} WHERE p.entity_id = $1 ORDER BY p.at DESC, p.id DESC LIMIT $2`;
const BY_ENTITY_AND_MODEL = `${SELECT} WHERE p.entity_id = $1 AND p.model = $2 ORDER BY p.at DESC, p.id DESC LIMIT $3`;

const OUTCOMES = 'SELECT prediction_id, label, at, received_at FROM serving.feedback WHERE prediction_id = ANY($1::uuid[])';

type Outcome = NonNullable<LoggedPrediction['outcome']>;

// JSON has no NaN or Infinity; a score that was not finite is shown as null.
const shownScore = (score: number): number | null => (Number.isFinite(score) ? score : null);
const outcome = (label: number, at: Date, receivedAt: Date): Outcome => ({
  label,
  at: at.toISOString(),
  receivedAt: receivedAt.toISOString(),
});

/** Logged predictions joined with their outcomes, as GET /predictions shows them. */
export class PgPredictionReadModel {
  constructor(private readonly db: Queryable) {}

  async listForEntity(q: { entityId: string; model?: string | undefined; limit: number }): Promise<LoggedPrediction[]> {
    const { rows } =
      q.model === undefined
        ? await this.db.query<Row>(BY_ENTITY, [q.entityId, q.limit])
        : await this.db.query<Row>(BY_ENTITY_AND_MODEL, [q.entityId, q.model, q.limit]);
    return rows.map((r) => ({
      predictionId: r.id,
      requestId: r.request_id,
      at: r.at.toISOString(),
      model: r.model,
      version: r.version,
      variant: r.variant,
      score: shownScore(r.score),
      label: r.label,
      fallback: r.fallback,
      outcome:
        r.outcome_label === null || r.outcome_at === null || r.outcome_received_at === null
          ? null
          : outcome(r.outcome_label, r.outcome_at, r.outcome_received_at),
    }));
  }

  /** Predictions not yet in the table (the log's memory), shown like listForEntity's, with the outcomes already recorded. */
  async withOutcomes(pending: readonly PendingPrediction[]): Promise<LoggedPrediction[]> {
    if (pending.length === 0) return [];
    const { rows } = await this.db.query<{ prediction_id: string; label: number; at: Date; received_at: Date }>(OUTCOMES, [
      pending.map((p) => p.id),
    ]);
    const outcomes = new Map(rows.map((r) => [r.prediction_id, outcome(r.label, r.at, r.received_at)]));
    return pending.map((p) => ({
      predictionId: p.id,
      requestId: p.requestId,
      at: p.at.toISOString(),
      model: p.model,
      version: p.version,
      variant: p.variant,
      score: shownScore(p.score),
      label: p.label,
      fallback: p.fallback,
      outcome: outcomes.get(p.id) ?? null,
    }));
  }
}
