import type { PairedScoreCounts, ScoreHistogram } from '@contender/ml';
import type { ReadOnlyDb } from '@contender/pipeline';

/**
 * The counting half of champion–challenger evaluation, done by Postgres over the published
 * `serving.prediction` and `serving.feedback` tables: per-arm counts and sums, and the labelled
 * rows' scores as counts per score rounded to 1e-4 (DeLong's variance is exact on those; see
 * @contender/ml groupedDelongAuc). What reaches the scheduler is bounded by the number of distinct
 * rounded scores (≤ 10,001 per arm and label), not by the window.
 *
 * Which rows belong to which arm:
 *  - split mode: the champion arm is what variant 'champion' answered, the challenger arm what
 *    variant 'challenger' answered. When the challenger fails, serving answers with the champion
 *    and logs variant 'champion', fallback true, the champion's version: those rows are counted as
 *    the challenger arm's (its fallbacks), never as the champion's. A champion failure is answered
 *    by another version (the previous champion), so it stays in the champion arm.
 *  - shadow mode: the champion arm is every champion row; the challenger arm the 'shadow' rows of
 *    the challenger's version. Outcomes arrive for the champion's predictionId (the only one a
 *    client sees), so the paired comparison joins each shadow row to the champion row it shadows
 *    (same request_id and entity_id, exactly one of each) and takes the champion row's outcome.
 * Model metrics (labelled, AUC, log loss, Brier) use only rows the arm's own version scored;
 * outcomes other than 0 and 1 are left out. Entities without an id are not counted for SRM.
 */

export interface Experiment {
  model: string;
  mode: 'split' | 'shadow';
  championVersion: number;
  challengerVersion: number;
  from: Date;
  to: Date;
}

export interface ArmCounts {
  predictions: number;
  entities: number;
  fallbacks: number;
  p99LatencyMs: number | null;
  labelled: number;
  positives: number;
  logLossSum: number;
  brierSum: number;
}

const EPS = 1e-15;

/** The arm of a prediction row, as SQL over the columns of serving.prediction (params $2 = champion version, $3 = challenger version, $6 = mode). */
const ARM = `CASE
    WHEN $6 = 'shadow' THEN CASE WHEN p.variant = 'champion' THEN 'champion' WHEN p.variant = 'shadow' AND p.version = $3 THEN 'challenger' END
    WHEN p.variant = 'challenger' THEN 'challenger'
    WHEN p.variant = 'champion' AND p.fallback AND p.version = $2 THEN 'challenger'
    WHEN p.variant = 'champion' THEN 'champion'
  END`;

/** Whether the row was scored by its arm's own version (not a fallback answer). */
const own = (t: string): string => `(NOT ${t}fallback AND ${t}version = CASE WHEN ${t}arm = 'champion' THEN $2::int ELSE $3::int END)`;

function params(e: Experiment): unknown[] {
  return [e.model, e.championVersion, e.challengerVersion, e.from, e.to, e.mode];
}

export async function countArms(db: ReadOnlyDb, e: Experiment): Promise<{ champion: ArmCounts; challenger: ArmCounts }> {
  const { rows } = await db.query<{
    arm: 'champion' | 'challenger';
    predictions: number;
    entities: number;
    fallbacks: number;
    p99: number | null;
    labelled: number;
    positives: number | null;
    log_loss: number | null;
    brier: number | null;
  }>(
    `WITH w AS (
       SELECT ${ARM} AS arm, p.id, p.at, p.entity_id, p.score, p.latency_ms, p.fallback, p.version
         FROM serving.prediction p
        WHERE p.model = $1 AND p.at >= $4 AND p.at < $5
     ), l AS (
       SELECT w.*, f.label AS outcome
         FROM w LEFT JOIN serving.feedback f ON f.prediction_id = w.id AND f.prediction_at = w.at AND f.label IN (0, 1)
        WHERE w.arm IS NOT NULL
     )
     SELECT arm,
            count(*)::float8 AS predictions,
            count(DISTINCT entity_id)::float8 AS entities,
            count(*) FILTER (WHERE fallback)::float8 AS fallbacks,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) AS p99,
            count(*) FILTER (WHERE outcome IS NOT NULL AND ${own('')})::float8 AS labelled,
            sum(outcome) FILTER (WHERE ${own('')}) AS positives,
            sum(-(outcome * ln(greatest(score, ${EPS})) + (1 - outcome) * ln(greatest(1 - score, ${EPS})))) FILTER (WHERE ${own('')}) AS log_loss,
            sum((score - outcome) ^ 2) FILTER (WHERE ${own('')}) AS brier
       FROM l GROUP BY arm`,
    params(e),
  );
  const empty = (): ArmCounts => ({ predictions: 0, entities: 0, fallbacks: 0, p99LatencyMs: null, labelled: 0, positives: 0, logLossSum: 0, brierSum: 0 });
  const out = { champion: empty(), challenger: empty() };
  for (const r of rows) {
    out[r.arm] = {
      predictions: r.predictions,
      entities: r.entities,
      fallbacks: r.fallbacks,
      p99LatencyMs: r.p99,
      labelled: r.labelled,
      positives: r.positives ?? 0,
      logLossSum: r.log_loss ?? 0,
      brierSum: r.brier ?? 0,
    };
  }
  return out;
}

function toHistogram(rows: readonly { s: number; y: number; n: number }[]): ScoreHistogram {
  const byScore = new Map<number, [number, number]>();
  for (const r of rows) {
    const e = byScore.get(r.s) ?? [0, 0];
    e[r.y === 1 ? 0 : 1] += r.n;
    byScore.set(r.s, e);
  }
  const scores = [...byScore.keys()];
  return { scores, positives: scores.map((s) => byScore.get(s)![0]), negatives: scores.map((s) => byScore.get(s)![1]) };
}

/** Labelled rows of each arm (scored by the arm's own version), counted per score rounded to 1e-4 and outcome. */
export async function scoreHistograms(db: ReadOnlyDb, e: Experiment): Promise<{ champion: ScoreHistogram; challenger: ScoreHistogram }> {
  const { rows } = await db.query<{ arm: 'champion' | 'challenger'; s: number; y: number; n: number }>(
    `WITH w AS (
       SELECT ${ARM} AS arm, p.id, p.at, p.score, p.fallback, p.version
         FROM serving.prediction p
        WHERE p.model = $1 AND p.at >= $4 AND p.at < $5
     )
     SELECT w.arm, round(w.score * 10000) / 10000 AS s, f.label AS y, count(*)::float8 AS n
       FROM w JOIN serving.feedback f ON f.prediction_id = w.id AND f.prediction_at = w.at
      WHERE w.arm IS NOT NULL AND f.label IN (0, 1) AND ${own('w.')}
      GROUP BY 1, 2, 3`,
    params(e),
  );
  return {
    champion: toHistogram(rows.filter((r) => r.arm === 'champion')),
    challenger: toHistogram(rows.filter((r) => r.arm === 'challenger')),
  };
}

/**
 * Shadow mode: each labelled champion row with the shadow row that scored the same request, as
 * counts per (champion score, challenger score, outcome), scores rounded to 1e-4.
 */
export async function pairedScoreCounts(db: ReadOnlyDb, e: Experiment): Promise<PairedScoreCounts & { pairs: number }> {
  const { rows } = await db.query<{ a: number; b: number; y: number; n: number }>(
    `WITH c AS (
       SELECT p.request_id, p.entity_id, min(p.score) AS score, count(*) AS k, min(f.label) AS y
         FROM serving.prediction p
         LEFT JOIN serving.feedback f ON f.prediction_id = p.id AND f.prediction_at = p.at AND f.label IN (0, 1)
        WHERE p.model = $1 AND p.at >= $4 AND p.at < $5 AND p.variant = 'champion' AND p.version = $2 AND NOT p.fallback
        GROUP BY 1, 2
     ), s AS (
       SELECT p.request_id, p.entity_id, min(p.score) AS score, count(*) AS k
         FROM serving.prediction p
        WHERE p.model = $1 AND p.at >= $4 AND p.at < $5 AND p.variant = 'shadow' AND p.version = $3
        GROUP BY 1, 2
     )
     SELECT round(c.score * 10000) / 10000 AS a, round(s.score * 10000) / 10000 AS b, c.y, count(*)::float8 AS n
       FROM c JOIN s ON s.request_id = c.request_id AND s.entity_id IS NOT DISTINCT FROM c.entity_id
      WHERE c.k = 1 AND s.k = 1 AND c.y IS NOT NULL AND $6 = 'shadow'
      GROUP BY 1, 2, 3`,
    params(e),
  );
  return {
    scoresA: rows.map((r) => r.a),
    scoresB: rows.map((r) => r.b),
    labels: rows.map((r) => r.y),
    counts: rows.map((r) => r.n),
    pairs: rows.reduce((a, r) => a + r.n, 0),
  };
}
