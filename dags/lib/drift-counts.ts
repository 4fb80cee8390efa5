import type { FeatureBinPlan } from '@contender/ml';
import type { ReadOnlyDb } from '@contender/pipeline';

/**
 * The counting half of drift detection, done by Postgres over `serving.prediction` (a published
 * table: services/serving/README.md): one scan of the window gives every feature's bin counts,
 * so what reaches the scheduler is a few hundred rows however many predictions the window holds.
 */

export interface PredictionWindow {
  model: string;
  version: number;
  from: Date;
  to: Date;
}

/** Rows of the window that logged their features (those without are not counted anywhere). */
export async function countWindowRows(db: ReadOnlyDb, w: PredictionWindow): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM serving.prediction
      WHERE model = $1 AND version = $2 AND at >= $3 AND at < $4 AND features IS NOT NULL`,
    [w.model, w.version, w.from, w.to],
  );
  return Number(rows[0]?.n ?? 0);
}

export interface FeatureCounts {
  /** numeric: one per fine bin of the plan (thresholds + 1); categorical: one per kept value, then "other" */
  bins: number[];
  missing: number;
}

/**
 * Bin counts of every planned feature over the window, in one scan. Each row yields an array of
 * bin numbers, one per feature (−1 = missing), and the arrays are unnested and counted by
 * (feature, bin): that keeps the per-row work to one expression per feature, where a join of the
 * rows with a table of features costs several times more (measured in docs/benchmarks.md).
 * A numeric value v falls in bin #{t ∈ thresholds : t < v} (right-closed bins, as the profile
 * counted them), computed as n − width_bucket(−v, −thresholds reversed), since width_bucket counts
 * the thresholds ≤ its operand. The SQL text has one expression per feature, and every name,
 * threshold array and category list in it is a $n parameter. A value that is absent, null, or of
 * the wrong JSON type (a string for a numeric feature) counts as missing, as does '' for a
 * categorical one.
 */
export async function countFeatureBins(db: ReadOnlyDb, w: PredictionWindow, plan: readonly FeatureBinPlan[]): Promise<FeatureCounts[]> {
  const params: unknown[] = [w.model, w.version, w.from, w.to];
  const param = (v: unknown): string => {
    params.push(v);
    return `$${params.length}`;
  };
  const expressions = plan.map((f) => {
    const name = param(f.name);
    if (f.kind === 'numeric') {
      if (f.thresholds.length === 0) return `CASE WHEN jsonb_typeof(features -> ${name}::text) = 'number' THEN 0 ELSE -1 END`;
      const neg = param([...f.thresholds].reverse().map((t) => -t));
      return `CASE WHEN jsonb_typeof(features -> ${name}::text) = 'number' THEN ${f.thresholds.length} - width_bucket(-((features -> ${name}::text)::float8), ${neg}::float8[]) ELSE -1 END`;
    }
    const values = param(f.values);
    return `CASE WHEN coalesce(features ->> ${name}::text, '') = '' THEN -1 ELSE coalesce(array_position(${values}::text[], features ->> ${name}::text) - 1, ${f.values.length}) END`;
  });
  if (expressions.length === 0) return [];
  const { rows } = await db.query<{ i: number; bin: number; n: number }>(
    `SELECT (u.k - 1)::int AS i, u.bin::int AS bin, count(*)::float8 AS n
       FROM (SELECT ARRAY[${expressions.join(', ')}] AS bins
               FROM serving.prediction
              WHERE model = $1 AND version = $2 AND at >= $3 AND at < $4 AND features IS NOT NULL) r,
            unnest(r.bins) WITH ORDINALITY AS u(bin, k)
      GROUP BY u.k, u.bin`,
    params,
  );
  const out: FeatureCounts[] = plan.map((f) => ({
    bins: new Array<number>(f.kind === 'numeric' ? f.thresholds.length + 1 : f.values.length + 1).fill(0),
    missing: 0,
  }));
  for (const r of rows) {
    const c = out[r.i]!;
    if (r.bin === -1) c.missing += r.n;
    else c.bins[r.bin] = r.n;
  }
  return out;
}

/** Fixed score bins for a probability: tenths, right-closed like the feature bins. */
export const SCORE_THRESHOLDS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] as const;

export interface ScoreCounts {
  bins: number[];
  rows: number;
  mean: number | null;
}

/** The score's own distribution over the window: counts per tenth, and its mean. */
export async function countScoreBins(db: ReadOnlyDb, w: PredictionWindow): Promise<ScoreCounts> {
  const neg = [...SCORE_THRESHOLDS].reverse().map((t) => -t);
  const { rows } = await db.query<{ bin: number; n: string; total: number }>(
    `SELECT cardinality($5::float8[]) - width_bucket(-score, $5::float8[]) AS bin, count(*) AS n, sum(score) AS total
       FROM serving.prediction
      WHERE model = $1 AND version = $2 AND at >= $3 AND at < $4
      GROUP BY 1`,
    [w.model, w.version, w.from, w.to, neg],
  );
  const bins = new Array<number>(SCORE_THRESHOLDS.length + 1).fill(0);
  let total = 0;
  let n = 0;
  for (const r of rows) {
    bins[r.bin] = Number(r.n);
    n += Number(r.n);
    total += Number(r.total);
  }
  return { bins, rows: n, mean: n > 0 ? total / n : null };
}
