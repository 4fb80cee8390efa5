import { checkLabelsAndScores } from './validate.js';

/** Indices 0..n−1 ordered by ascending value (stable, so equal values keep their input order). */
export function argsort(values: ArrayLike<number>): Uint32Array {
  const order = new Uint32Array(values.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  // TypedArray#sort is stable since ES2019.
  return order.sort((a, b) => values[a]! - values[b]!);
}

/**
 * 1-based ranks in ascending order, ties sharing the mean of the ranks they span (midranks):
 * [10, 20, 20, 30] → [1, 2.5, 2.5, 4]. Midranks make a tie count as half a correct ordering,
 * which is what the Mann–Whitney form of the AUC and DeLong's variance both assume.
 */
export function midranks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = argsort(values);
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    const v = values[order[i]!]!;
    while (j + 1 < n && values[order[j + 1]!]! === v) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = rank;
    i = j + 1;
  }
  return ranks;
}

/**
 * Area under the ROC curve: the probability that a random positive scores above a random
 * negative, ties counting one half (Mann–Whitney U / (n₁ n₀), computed from midranks in
 * O(n log n)). NaN when only one class is present, since the quantity is undefined.
 */
export function rocAuc(y: ArrayLike<number>, scores: ArrayLike<number>): number {
  const { positives, negatives } = checkLabelsAndScores(y, scores);
  if (positives === 0 || negatives === 0) return NaN;
  const ranks = midranks(scores);
  let rankSum = 0;
  for (let i = 0; i < y.length; i++) if (y[i] === 1) rankSum += ranks[i]!;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * Kolmogorov–Smirnov statistic of a scorecard: max over thresholds of TPR − FPR, i.e. the largest
 * gap between the score CDFs of negatives and positives (Youden's J at its best threshold).
 * Tied scores are stepped over together, because no threshold can separate them. NaN with one class.
 */
export function ksStatistic(y: ArrayLike<number>, scores: ArrayLike<number>): number {
  const { positives, negatives } = checkLabelsAndScores(y, scores);
  if (positives === 0 || negatives === 0) return NaN;
  const order = argsort(scores);
  let tp = 0;
  let fp = 0;
  let best = 0;
  // Walk from the highest score down: lowering the threshold past a tie group admits all of it.
  let i = order.length - 1;
  while (i >= 0) {
    const v = scores[order[i]!]!;
    while (i >= 0 && scores[order[i]!]! === v) {
      if (y[order[i]!] === 1) tp++;
      else fp++;
      i--;
    }
    best = Math.max(best, tp / positives - fp / negatives);
  }
  return best;
}
