import type { BinaryClassificationReport } from '@contender/ml';

export function fixed(value: number, digits = 4): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

export function percent(value: number, digits = 1): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(digits)}%` : 'n/a';
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** The metrics block printed by `train` and `evaluate`. */
export function metricsLines(title: string, r: BinaryClassificationReport): string[] {
  const ci = r.aucConfidenceInterval ? ` (95% CI ${fixed(r.aucConfidenceInterval[0])}–${fixed(r.aucConfidenceInterval[1])})` : '';
  const c = r.confusion;
  return [
    `${title}: ${r.rows} rows, ${r.positives} positive (${percent(r.positiveRate)})`,
    `  AUC        ${fixed(r.auc)}${ci}`,
    `  log loss   ${fixed(r.logLoss)}`,
    `  Brier      ${fixed(r.brier)}`,
    `  KS         ${fixed(r.ks)}`,
    `  at threshold ${r.threshold}: accuracy ${fixed(r.accuracy)}  precision ${fixed(r.precision)}  recall ${fixed(r.recall)}  F1 ${fixed(r.f1)}`,
    `  confusion  TP ${c.truePositives}  FP ${c.falsePositives}  TN ${c.trueNegatives}  FN ${c.falseNegatives}`,
    `  calibration (mean predicted → observed, rows): ${r.calibration.bins
      .map((b) => `${fixed(b.meanPredicted, 2)}→${fixed(b.observedRate, 2)} (${b.count})`)
      .join('  ')}`,
  ];
}

/**
 * The registry's `metrics` map takes finite numbers only, keyed by name: the headline metrics of
 * a report, with undefined ones (NaN precision when nothing is predicted positive) left out.
 */
export function flatMetrics(r: BinaryClassificationReport, prefix = ''): Record<string, number> {
  const key = (name: string): string => (prefix ? `${prefix}${name[0]!.toUpperCase()}${name.slice(1)}` : name);
  const entries: [string, number][] = [
    ['auc', r.auc],
    ['logLoss', r.logLoss],
    ['brier', r.brier],
    ['ks', r.ks],
    ['accuracy', r.accuracy],
    ['precision', r.precision],
    ['recall', r.recall],
    ['f1', r.f1],
    ['positiveRate', r.positiveRate],
    ['expectedCalibrationError', r.calibration.expectedCalibrationError],
  ];
  if (r.aucConfidenceInterval) entries.push(['aucLower95', r.aucConfidenceInterval[0]], ['aucUpper95', r.aucConfidenceInterval[1]]);
  return Object.fromEntries(entries.filter(([, v]) => Number.isFinite(v)).map(([k, v]) => [key(k), v]));
}
