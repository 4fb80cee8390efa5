import type { Queryable } from '@contender/platform';

export interface StoredFeedback {
  predictionId: string;
  label: number;
  at: Date;
  receivedAt: Date;
}

/** A logged prediction as feedback needs it: its partition key, and whether it has a predicted label. */
export interface FoundPrediction {
  at: Date;
  /** A classifier's prediction (its row has a predicted label): outcomes are 0 or 1. */
  classifier: boolean;
}

interface FeedbackRow {
  prediction_id: string;
  label: number;
  at: Date;
  received_at: Date;
}

// Looks in every day's partition (a feedback request carries only the id); each probe is an
// index lookup on the primary key (id, at).
const FIND_PREDICTION = 'SELECT at, label IS NOT NULL AS classifier FROM serving.prediction WHERE id = $1 LIMIT 1';
const INSERT = `
  INSERT INTO serving.feedback (prediction_id, prediction_at, label, at)
  VALUES ($1, $2, $3, $4)
  ON CONFLICT (prediction_id) DO NOTHING
  RETURNING prediction_id, label, at, received_at`;
const GET = 'SELECT prediction_id, label, at, received_at FROM serving.feedback WHERE prediction_id = $1';

const toFeedback = (r: FeedbackRow): StoredFeedback => ({
  predictionId: r.prediction_id,
  label: r.label,
  at: r.at,
  receivedAt: r.received_at,
});

export class PgFeedbackStore {
  constructor(private readonly db: Queryable) {}

  /** A logged prediction's `at` and kind, or null when no row has that id. */
  async findPrediction(predictionId: string): Promise<FoundPrediction | null> {
    const { rows } = await this.db.query<FoundPrediction>(FIND_PREDICTION, [predictionId]);
    return rows[0] ?? null;
  }

  /** Stores the feedback unless the prediction already has some; returns the new row, else null. */
  async insertIfAbsent(f: { predictionId: string; predictionAt: Date; label: number; at: Date }): Promise<StoredFeedback | null> {
    const { rows } = await this.db.query<FeedbackRow>(INSERT, [f.predictionId, f.predictionAt, f.label, f.at]);
    return rows[0] ? toFeedback(rows[0]) : null;
  }

  async get(predictionId: string): Promise<StoredFeedback | null> {
    const { rows } = await this.db.query<FeedbackRow>(GET, [predictionId]);
    return rows[0] ? toFeedback(rows[0]) : null;
  }
}
