import { argsort } from './ranking.js';
import { checkLabelsAndScores, checkNonEmpty } from './validate.js';

export type CalibrationStrategy = 'uniform' | 'quantile';

export interface CalibrationBin {
  /** Bin range of predicted probabilities; uniform bins are [lower, upper) except the last, which includes 1. */
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
  readonly meanPredicted: number;
  readonly observedRate: number;
}

export interface CalibrationTable {
  readonly strategy: CalibrationStrategy;
  /** Non-empty bins only, in ascending order of predicted probability. */
  readonly bins: readonly CalibrationBin[];
  /** Expected calibration error: Σ (count / n) · |observedRate − meanPredicted| over the bins. */
  readonly expectedCalibrationError: number;
}

export interface CalibrationOptions {
  /** Number of bins; 10 by default. */
  readonly bins?: number;
  /**
   * `uniform`: equal-width bins over [0, 1] (reliability diagram). `quantile`: bins holding equal
   * numbers of rows, which keeps every bin populated when probabilities cluster near 0 — rows
   * with tied probabilities are never split across bins, so counts can differ slightly.
   */
  readonly strategy?: CalibrationStrategy;
}

/** Calibration (reliability) table: per bin, mean predicted probability vs observed positive rate. */
export function calibrationTable(y: ArrayLike<number>, p: ArrayLike<number>, options: CalibrationOptions = {}): CalibrationTable {
  const binCount = options.bins ?? 10;
  const strategy = options.strategy ?? 'uniform';
  if (!Number.isInteger(binCount) || binCount < 1) throw new RangeError(`calibration bins must be a positive integer, got ${binCount}`);
  checkLabelsAndScores(y, p, 'probabilities');
  checkNonEmpty(y.length, 'calibration table');
  const n = y.length;
  const binOf = new Int32Array(n);
  if (strategy === 'uniform') {
    for (let i = 0; i < n; i++) {
      const v = p[i]!;
      if (v < 0 || v > 1) throw new RangeError(`probability at index ${i} is ${v}; expected a value in [0, 1]`);
      binOf[i] = Math.min(binCount - 1, Math.floor(v * binCount));
    }
  } else {
    const order = argsort(p);
    let start = 0;
    let bin = 0;
    while (start < n) {
      // Close bin `bin` at its equal-count boundary, extended to the end of a tie group.
      let end = Math.max(start + 1, Math.round(((bin + 1) * n) / binCount));
      while (end < n && p[order[end]!]! === p[order[end - 1]!]!) end++;
      for (let k = start; k < end; k++) binOf[order[k]!] = bin;
      start = end;
      bin++;
    }
  }
  const count = new Float64Array(binCount);
  const sumP = new Float64Array(binCount);
  const sumY = new Float64Array(binCount);
  const lower = new Float64Array(binCount).fill(Infinity);
  const upper = new Float64Array(binCount).fill(-Infinity);
  for (let i = 0; i < n; i++) {
    const b = binOf[i]!;
    const v = p[i]!;
    count[b]!++;
    sumP[b]! += v;
    sumY[b]! += y[i]!;
    if (v < lower[b]!) lower[b] = v;
    if (v > upper[b]!) upper[b] = v;
  }
  const bins: CalibrationBin[] = [];
  let ece = 0;
  for (let b = 0; b < binCount; b++) {
    const c = count[b]!;
    if (c === 0) continue;
    const meanPredicted = sumP[b]! / c;
    const observedRate = sumY[b]! / c;
    ece += (c / n) * Math.abs(observedRate - meanPredicted);
    bins.push({
      lower: strategy === 'uniform' ? b / binCount : lower[b]!,
      upper: strategy === 'uniform' ? (b + 1) / binCount : upper[b]!,
      count: c,
      meanPredicted,
      observedRate,
    });
  }
  return { strategy, bins, expectedCalibrationError: ece };
}
