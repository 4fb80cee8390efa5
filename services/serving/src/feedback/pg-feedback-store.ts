import type { Queryable } from '@contender/platform';
import { uuidV7Time } from '../predict/prediction-id.js';

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
const SELECT_PREDICTION = 'SELECT at, label IS NOT NULL AS classifier FROM serving.prediction';
const FIND_PREDICTION = `${SELECT_PREDICTION} WHERE id = $1 LIMIT 1`;
// A version 7 id carries the millisecond it was made, a moment before or after its row's `at`: a
// window around it lets Postgres skip every other day's partition (one or two probes instead of
// one per retained day; about a third of Postgres' CPU per lookup with 35 partitions,
// `npm run bench:prediction-table`).
const FIND_PREDICTION_NEAR = `${SELECT_PREDICTION} WHERE id = $1 AND at >= $2 AND at < $3 LIMIT 1`;
/** Far wider than the milliseconds between an id and its `at`; a miss still falls back to every partition. */
const WINDOW_MS = 86_400_000;
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

  /**
   * A logged prediction's `at` and kind, or null when no row has that id. For a version 7 id the
   * days around the id's time are searched first; an id found nowhere there (not one of serving's,
   * or a row whose `at` is far from its id's time) is looked for in every partition.
   */
  async findPrediction(predictionId: string): Promise<FoundPrediction | null> {
    const made = uuidV7Time(predictionId);
    if (made !== null) {
      const window = [predictionId, new Date(made - WINDOW_MS), new Date(made + WINDOW_MS)];
      const near = await this.db.query<FoundPrediction>(FIND_PREDICTION_NEAR, window);
      if (near.rows[0]) return near.rows[0];
    }
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
