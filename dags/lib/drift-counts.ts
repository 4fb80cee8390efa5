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
  /** mean of the non-missing values of a numeric feature */
  mean: number | null;
}

/**
 * Bin counts of every planned feature over the window, in one scan. A numeric value v falls in
 * bin #{t ∈ thresholds : t < v} (right-closed bins, as the profile counted them), computed as
 * n − width_bucket(−v, −thresholds reversed), since width_bucket counts the thresholds ≤ its
 * operand. The plan travels as one JSON parameter; nothing is spliced into the SQL. A value that
 * is absent, null, or of the wrong JSON type (a string for a numeric feature) counts as missing,
 * as does '' for a categorical one.
 */
export async function countFeatureBins(db: ReadOnlyDb, w: PredictionWindow, plan: readonly FeatureBinPlan[]): Promise<FeatureCounts[]> {
  const spec = plan.map((f) =>
    f.kind === 'numeric'
      ? { name: f.name, kind: 'numeric', neg: [...f.thresholds].reverse().map((t) => -t) }
      : { name: f.name, kind: 'categorical', values: f.values },
  );
  const { rows } = await db.query<{ i: number; bin: number; n: string; total: number | null }>(
    `WITH f AS MATERIALIZED (
       SELECT (e.ord - 1)::int AS i,
              e.spec ->> 'name' AS name,
              e.spec ->> 'kind' = 'numeric' AS numeric,
              ARRAY(SELECT jsonb_array_elements_text(COALESCE(e.spec -> 'neg', '[]'))::float8) AS neg,
              jsonb_array_length(COALESCE(e.spec -> 'neg', '[]')) AS n,
              ARRAY(SELECT jsonb_array_elements_text(COALESCE(e.spec -> 'values', '[]'))) AS vals
         FROM jsonb_array_elements($5::jsonb) WITH ORDINALITY AS e(spec, ord)
     ), w AS (
       SELECT features FROM serving.prediction
        WHERE model = $1 AND version = $2 AND at >= $3 AND at < $4 AND features IS NOT NULL
     )
     SELECT c.i, c.bin, count(*) AS n, sum(c.x) AS total
       FROM (
         SELECT f.i,
                CASE WHEN f.numeric THEN
                       CASE WHEN jsonb_typeof(w.features -> f.name) <> 'number' OR w.features -> f.name IS NULL THEN -1
                            WHEN f.n = 0 THEN 0
                            ELSE f.n - width_bucket(-((w.features -> f.name)::float8), f.neg) END
                     ELSE
                       CASE WHEN w.features ->> f.name IS NULL OR w.features ->> f.name = '' THEN -1
                            ELSE COALESCE(array_position(f.vals, w.features ->> f.name) - 1, cardinality(f.vals)) END
                END AS bin,
                CASE WHEN f.numeric AND jsonb_typeof(w.features -> f.name) = 'number' THEN (w.features -> f.name)::float8 END AS x
           FROM w CROSS JOIN f
       ) c
      GROUP BY c.i, c.bin`,
    [w.model, w.version, w.from, w.to, JSON.stringify(spec)],
  );
  const out: FeatureCounts[] = plan.map((f) => ({
    bins: new Array<number>(f.kind === 'numeric' ? f.thresholds.length + 1 : f.values.length + 1).fill(0),
    missing: 0,
    mean: null,
  }));
  const sums = plan.map(() => 0);
  for (const r of rows) {
    const c = out[r.i]!;
    const n = Number(r.n);
    if (r.bin === -1) c.missing += n;
    else c.bins[r.bin] = n;
    if (r.total !== null) sums[r.i]! += Number(r.total);
  }
  out.forEach((c, i) => {
    if (plan[i]!.kind !== 'numeric') return;
    const present = c.bins.reduce((a, b) => a + b, 0);
    c.mean = present > 0 ? sums[i]! / present : null;
  });
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
