import { TAIWAN_CREDIT_CSV, TAIWAN_CREDIT_LABEL } from '@contender/fixtures';
import { loadCsvDataset, type Matrix } from '@contender/ml';
import type { Pool } from '@contender/platform';

export interface TaiwanRows {
  featureNames: string[];
  X: Matrix;
  y: Float64Array;
}

export async function loadTaiwan(): Promise<TaiwanRows> {
  const ds = await loadCsvDataset(TAIWAN_CREDIT_CSV, { label: TAIWAN_CREDIT_LABEL, drop: ['ID'] });
  return { featureNames: [...ds.featureNames], X: ds.X, y: ds.y };
}

/**
 * Fills serving.prediction with `rows` predictions whose features are Taiwan rows in turn (row i
 * gets data row i mod 30,000), spread evenly over [from, to), as serving would have logged them.
 * The Taiwan rows go to a scratch table once; Postgres generates the rest.
 */
export async function fillPredictions(
  pool: Pool,
  data: TaiwanRows,
  o: { model: string; rows: number; from: Date; to: Date; variants: { variant: string; version: number; share: number }[]; labelShare?: number },
): Promise<void> {
  await pool.query('CREATE TABLE IF NOT EXISTS public.bench_taiwan (i int PRIMARY KEY, features jsonb NOT NULL, y float8 NOT NULL)');
  await pool.query('TRUNCATE public.bench_taiwan');
  const n = data.X.rows;
  for (let start = 0; start < n; start += 5000) {
    const idx: number[] = [];
    const feats: string[] = [];
    const ys: number[] = [];
    for (let i = start; i < Math.min(n, start + 5000); i++) {
      const f: Record<string, number> = {};
      data.featureNames.forEach((name, j) => (f[name] = data.X.data[i * data.X.cols + j]!));
      idx.push(i);
      feats.push(JSON.stringify(f));
      ys.push(data.y[i]!);
    }
    await pool.query('INSERT INTO public.bench_taiwan SELECT * FROM unnest($1::int[], $2::jsonb[], $3::float8[])', [idx, feats, ys]);
  }
  // Variants by cumulative share of the row number; entity = row number (distinct entities per arm).
  let cum = 0;
  for (const v of o.variants) {
    const lo = Math.round(cum * o.rows);
    cum += v.share;
    const hi = Math.round(cum * o.rows);
    await pool.query(
      `INSERT INTO serving.prediction (id, request_id, at, model, version, variant, entity_id, features, score, label, latency_ms, fallback)
       SELECT gen_random_uuid(), 'r' || g, $1::timestamptz + (($2::timestamptz - $1::timestamptz) * g / $3::int), $4, $5, $6, 'e' || g, t.features,
              least(0.999, greatest(0.001, 0.2 + 0.3 * (t.y - 0.22) + (random() - 0.5) * 0.5)), NULL, 2 + random() * 8, false
         FROM generate_series($7::int, $8::int - 1) g JOIN public.bench_taiwan t ON t.i = g % $9::int`,
      [o.from, o.to, o.rows, o.model, v.version, v.variant, lo, hi, n],
    );
  }
  if (o.labelShare) {
    await pool.query(
      `INSERT INTO serving.feedback (prediction_id, prediction_at, label, at)
       SELECT p.id, p.at, t.y, p.at FROM serving.prediction p JOIN public.bench_taiwan t ON t.i = substr(p.entity_id, 2)::int % $3::int
        WHERE p.model = $1 AND random() < $2`,
      [o.model, o.labelShare, n],
    );
  }
  await pool.query('ANALYZE serving.prediction');
  await pool.query('ANALYZE serving.feedback');
}

export function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}
