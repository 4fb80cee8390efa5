/**
 * bench:evaluate — the evaluation over 1,000,000 logged predictions (a 50/50 split of Taiwan rows)
 * with 200,000 outcomes: per-arm counts, sums and p99 latency, the score histograms and the
 * DeLong/mSPRT/SRM statistics. Prints the time of each run and this process's peak RSS.
 *   npm run bench:evaluate [-- --rows 1000000 --labels 0.2 --runs 3]
 */
import { computeEvaluationStats } from '../lib/evaluation-report.js';
import { createServingTables } from '../lib/testing/serving-tables.js';
import { fillPredictions, loadTaiwan, peakRssMb } from './taiwan-predictions.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const rows = arg('rows', 1_000_000);
const labelShare = arg('labels', 0.2);
const runs = arg('runs', 3);

const t = await createServingTables('bench_evaluate');
try {
  const data = await loadTaiwan();
  const to = new Date('2026-05-15T00:00:00Z');
  const from = new Date(to.getTime() - 7 * 86_400_000);
  let t0 = performance.now();
  await fillPredictions(t.pool, data, {
    model: 'bench',
    rows,
    from,
    to,
    variants: [
      { variant: 'champion', version: 1, share: 0.5 },
      { variant: 'challenger', version: 2, share: 0.5 },
    ],
    labelShare,
  });
  const { rows: fb } = await t.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM serving.feedback');
  console.log(`filled ${rows} predictions and ${fb[0]!.n} outcomes in ${((performance.now() - t0) / 1000).toFixed(1)} s; rss after setup ${peakRssMb()} MB`);
  const rssBefore = peakRssMb();
  for (let r = 0; r < runs; r++) {
    t0 = performance.now();
    const stats = await computeEvaluationStats(t.db, { model: 'bench', mode: 'split', championVersion: 1, challengerVersion: 2, from, to }, { alpha: 0.05, mixtureSd: 0.05, challengerShare: 0.5, srmPValue: 0.001 });
    const ms = performance.now() - t0;
    console.log(
      `run ${r + 1}: labelled ${stats.arms.champion.labelled} + ${stats.arms.challenger.labelled}, AUC ${stats.arms.champion.auc} vs ${stats.arms.challenger.auc}, SRM p ${stats.srm?.pValue.toPrecision(2)}: ${(ms / 1000).toFixed(2)} s`,
    );
  }
  console.log(`peak RSS ${peakRssMb()} MB (before the runs: ${rssBefore} MB)`);
} finally {
  await t.close();
}
