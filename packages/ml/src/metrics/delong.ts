import { midranks } from './ranking.js';
import { normalQuantile, twoSidedNormalPValue } from './special-functions.js';
import { checkLabelsAndScores } from './validate.js';

/**
 * DeLong, DeLong & Clarke-Pearson (1988), "Comparing the areas under two or more correlated
 * receiver operating characteristic curves: a nonparametric approach", with the O(n log n)
 * midrank formulation of Sun & Xu (2014).
 *
 * For each positive i, V10ᵢ is the fraction of negatives it outscores (ties ½); for each negative
 * j, V01ⱼ is the fraction of positives that outscore it. The AUC is the mean of either, and
 *   Var(AUC) = s²(V10) / m + s²(V01) / n      (m positives, n negatives, sample variances),
 * with covariances in place of variances for two models scored on the same rows.
 */

export interface ScoredSample {
  readonly y: ArrayLike<number>;
  readonly scores: ArrayLike<number>;
}

export interface AucEstimate {
  readonly auc: number;
  readonly variance: number;
  readonly standardError: number;
  /** Wald interval auc ± z·se, clipped to [0, 1]. */
  readonly confidenceInterval: readonly [number, number];
  readonly confidenceLevel: number;
  readonly positives: number;
  readonly negatives: number;
}

export interface AucComparison {
  readonly method: 'delong-paired' | 'delong-independent';
  readonly aucA: number;
  readonly aucB: number;
  /** aucB − aucA: positive when B (e.g. the challenger) ranks better than A (the champion). */
  readonly difference: number;
  readonly standardError: number;
  readonly z: number;
  /** Two-sided p-value of H₀: the two AUCs are equal. */
  readonly pValue: number;
  /** Wald interval for the difference, difference ± z·se. */
  readonly confidenceInterval: readonly [number, number];
  readonly confidenceLevel: number;
}

export interface ConfidenceOptions {
  /** 0.95 by default. */
  readonly confidenceLevel?: number;
}

interface StructuralComponents {
  readonly auc: number;
  /** V10 for each positive, in row order of the positives. */
  readonly v10: Float64Array;
  /** V01 for each negative, in row order of the negatives. */
  readonly v01: Float64Array;
}

function structuralComponents(y: ArrayLike<number>, scores: ArrayLike<number>, positives: number, negatives: number): StructuralComponents {
  const pos = new Float64Array(positives);
  const neg = new Float64Array(negatives);
  let p = 0;
  let q = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] === 1) pos[p++] = scores[i]!;
    else neg[q++] = scores[i]!;
  }
  const all = new Float64Array(positives + negatives);
  all.set(pos, 0);
  all.set(neg, positives);
  const tz = midranks(all);
  const tx = midranks(pos);
  const ty = midranks(neg);
  // The rank of a positive among all scores minus its rank among positives = number of negatives
  // below it (ties ½); symmetrically for negatives.
  const v10 = new Float64Array(positives);
  let sum = 0;
  for (let i = 0; i < positives; i++) {
    v10[i] = (tz[i]! - tx[i]!) / negatives;
    sum += v10[i]!;
  }
  const v01 = new Float64Array(negatives);
  for (let j = 0; j < negatives; j++) v01[j] = 1 - (tz[positives + j]! - ty[j]!) / positives;
  return { auc: sum / positives, v10, v01 };
}

function covariance(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  if (n < 2) return NaN;
  let meanA = 0;
  let meanB = 0;
  for (let i = 0; i < n; i++) {
    meanA += a[i]!;
    meanB += b[i]!;
  }
  meanA /= n;
  meanB /= n;
  let s = 0;
  for (let i = 0; i < n; i++) s += (a[i]! - meanA) * (b[i]! - meanB);
  return s / (n - 1);
}

function zFor(confidenceLevel: number): number {
  if (!(confidenceLevel > 0 && confidenceLevel < 1)) throw new RangeError(`confidence level must be in (0, 1), got ${confidenceLevel}`);
  return normalQuantile(1 - (1 - confidenceLevel) / 2);
}

function classCounts(y: ArrayLike<number>, scores: ArrayLike<number>, what: string): { positives: number; negatives: number } {
  const counts = checkLabelsAndScores(y, scores);
  if (counts.positives < 2 || counts.negatives < 2) {
    throw new RangeError(`${what} needs at least 2 positives and 2 negatives, got ${counts.positives} and ${counts.negatives}`);
  }
  return counts;
}

/** AUC with its DeLong variance and a Wald confidence interval. */
export function delongAuc(y: ArrayLike<number>, scores: ArrayLike<number>, options: ConfidenceOptions = {}): AucEstimate {
  const confidenceLevel = options.confidenceLevel ?? 0.95;
  const z = zFor(confidenceLevel);
  const { positives, negatives } = classCounts(y, scores, 'DeLong AUC variance');
  const c = structuralComponents(y, scores, positives, negatives);
  const variance = covariance(c.v10, c.v10) / positives + covariance(c.v01, c.v01) / negatives;
  const se = Math.sqrt(variance);
  return {
    auc: c.auc,
    variance,
    standardError: se,
    confidenceInterval: [Math.max(0, c.auc - z * se), Math.min(1, c.auc + z * se)],
    confidenceLevel,
    positives,
    negatives,
  };
}

function comparison(method: AucComparison['method'], aucA: number, aucB: number, variance: number, confidenceLevel: number): AucComparison {
  const z = zFor(confidenceLevel);
  const difference = aucB - aucA;
  // Rounding can leave a tiny negative variance when the two score vectors are identical.
  const se = Math.sqrt(Math.max(0, variance));
  let stat: number;
  if (se > 0) stat = difference / se;
  else stat = difference === 0 ? 0 : Math.sign(difference) * Infinity;
  return {
    method,
    aucA,
    aucB,
    difference,
    standardError: se,
    z: stat,
    pValue: twoSidedNormalPValue(stat),
    confidenceInterval: [difference - z * se, difference + z * se],
    confidenceLevel,
  };
}

/**
 * Two models scored on the same rows (e.g. champion and challenger replayed on one holdout set):
 * the AUCs are correlated, so Var(B − A) = Var(A) + Var(B) − 2 Cov(A, B), all from DeLong's
 * structural components. This is the test that pROC's `roc.test(paired = TRUE)` performs.
 */
export function compareAucPaired(
  y: ArrayLike<number>,
  scoresA: ArrayLike<number>,
  scoresB: ArrayLike<number>,
  options: ConfidenceOptions = {},
): AucComparison {
  const { positives, negatives } = classCounts(y, scoresA, 'paired DeLong test');
  checkLabelsAndScores(y, scoresB);
  const a = structuralComponents(y, scoresA, positives, negatives);
  const b = structuralComponents(y, scoresB, positives, negatives);
  const var10 = covariance(a.v10, a.v10) + covariance(b.v10, b.v10) - 2 * covariance(a.v10, b.v10);
  const var01 = covariance(a.v01, a.v01) + covariance(b.v01, b.v01) - 2 * covariance(a.v01, b.v01);
  return comparison('delong-paired', a.auc, b.auc, var10 / positives + var01 / negatives, options.confidenceLevel ?? 0.95);
}

/**
 * Two models scored on disjoint rows (the champion arm and the challenger arm of a live split):
 * the AUC estimates are independent, so Var(B − A) = Var(A) + Var(B), each from DeLong.
 * Chosen over a bootstrap because it is deterministic, O(n log n), and matches the paired test.
 */
export function compareAucIndependent(a: ScoredSample, b: ScoredSample, options: ConfidenceOptions = {}): AucComparison {
  const confidenceLevel = options.confidenceLevel ?? 0.95;
  const estA = delongAuc(a.y, a.scores, { confidenceLevel });
  const estB = delongAuc(b.y, b.scores, { confidenceLevel });
  return comparison('delong-independent', estA.auc, estB.auc, estA.variance + estB.variance, confidenceLevel);
}
