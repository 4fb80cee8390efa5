/**
 * bench:drift — the drift computation over 1,000,000 logged predictions of 23 Taiwan features:
 * the window count and the bin counts in Postgres, the statistics in this process. Prints the time
 * of each run and this process's peak RSS (it must not grow with the window).
 *   npm run bench:drift [-- --rows 1000000 --runs 3]
 */
import { buildReferenceProfile, columnsFromMatrix } from '@contender/ml';
import { countWindowRows } from '../lib/drift-counts.js';
import { computeDriftReport } from '../lib/drift-report.js';
import { createServingTables } from '../lib/testing/serving-tables.js';
import { fillPredictions, loadTaiwan, peakRssMb } from './taiwan-predictions.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const rows = arg('rows', 1_000_000);
const runs = arg('runs', 3);

const t = await createServingTables('bench_drift');
try {
  const data = await loadTaiwan();
  const profile = buildReferenceProfile(columnsFromMatrix(data.featureNames, data.X));
  const to = new Date('2026-05-02T00:00:00Z');
  const from = new Date(to.getTime() - 24 * 3_600_000);
  let t0 = performance.now();
  await fillPredictions(t.pool, data, { model: 'bench', rows, from, to, variants: [{ variant: 'champion', version: 1, share: 1 }] });
  console.log(`filled ${rows} predictions in ${((performance.now() - t0) / 1000).toFixed(1)} s; rss after setup ${peakRssMb()} MB`);
  const rssBefore = peakRssMb();
  for (let r = 0; r < runs; r++) {
    t0 = performance.now();
    const w = { model: 'bench', version: 1, from, to };
    const n = await countWindowRows(t.db, w);
    const report = await computeDriftReport(t.db, w, n, profile, { psiWarn: 0.1, psiDrift: 0.2, driftShare: 0.3 });
    const ms = performance.now() - t0;
    console.log(`run ${r + 1}: ${n} rows, ${report.features.length} features, max PSI ${Math.max(...report.features.map((f) => f.psi)).toFixed(4)}, drifted ${report.drifted}: ${(ms / 1000).toFixed(2)} s`);
  }
  console.log(`peak RSS ${peakRssMb()} MB (before the runs: ${rssBefore} MB)`);
} finally {
  await t.close();
}
