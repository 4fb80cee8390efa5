import { normalQuantile, twoSidedNormalPValue } from '../metrics/special-functions.js';

/**
 * DeLong's AUC variance (DeLong, DeLong & Clarke-Pearson 1988) from counts of rows per distinct
 * score instead of the rows themselves, so that Postgres can do the counting (GROUP BY rounded
 * score, label) and the caller holds one entry per distinct score, not one per prediction.
 *
 * Rows with equal scores are tied, and ties count ½ in both the AUC and DeLong's structural
 * components, so the result is exactly `delongAuc` / `compareAucPaired` on the same (rounded)
 * scores. Rounding a probability to 1e-4 before counting changes the AUC by at most half the
 * share of positive–negative pairs that fall in one 1e-4 bucket: below 1e-3 on any realistic
 * score distribution, and a few thousand groups at most per arm.
 */

/** Positives and negatives per distinct score (any order; a score may not repeat). */
export interface ScoreHistogram {
  readonly scores: ArrayLike<number>;
  readonly positives: ArrayLike<number>;
  readonly negatives: ArrayLike<number>;
}

export interface GroupedAucEstimate {
  readonly auc: number;
  readonly variance: number;
  readonly standardError: number;
  readonly confidenceInterval: readonly [number, number];
  readonly positives: number;
  readonly negatives: number;
}

interface Components {
  /** distinct scores, ascending */
  readonly scores: Float64Array;
  readonly pos: Float64Array;
  readonly neg: Float64Array;
  /** V10 of a positive at scores[i]: share of negatives below it (ties ½) */
  readonly v10: Float64Array;
  /** V01 of a negative at scores[i]: share of positives above it (ties ½) */
  readonly v01: Float64Array;
  readonly positives: number;
  readonly negatives: number;
  readonly auc: number;
}

function components(h: ScoreHistogram): Components {
  const n = h.scores.length;
  if (h.positives.length !== n || h.negatives.length !== n) throw new RangeError('score histogram: scores, positives and negatives differ in length');
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => h.scores[a]! - h.scores[b]!);
  const scores = new Float64Array(n);
  const pos = new Float64Array(n);
  const neg = new Float64Array(n);
  let positives = 0;
  let negatives = 0;
  order.forEach((o, i) => {
    const s = h.scores[o]!;
    const p = h.positives[o]!;
    const q = h.negatives[o]!;
    if (!Number.isFinite(s)) throw new RangeError(`score histogram: score ${s} is not finite`);
    if (!(p >= 0 && q >= 0)) throw new RangeError(`score histogram: negative count at score ${s}`);
    if (i > 0 && s === scores[i - 1]) throw new RangeError(`score histogram: score ${s} appears twice`);
    scores[i] = s;
    pos[i] = p;
    neg[i] = q;
    positives += p;
    negatives += q;
  });
  const v10 = new Float64Array(n);
  const v01 = new Float64Array(n);
  let negBelow = 0;
  let posBelow = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    v10[i] = (negBelow + 0.5 * neg[i]!) / negatives;
    v01[i] = (positives - posBelow - pos[i]! + 0.5 * pos[i]!) / positives;
    sum += pos[i]! * v10[i]!;
    negBelow += neg[i]!;
    posBelow += pos[i]!;
  }
  return { scores, pos, neg, v10, v01, positives, negatives, auc: sum / positives };
}

function zFor(confidenceLevel: number): number {
  if (!(confidenceLevel > 0 && confidenceLevel < 1)) throw new RangeError(`confidence level must be in (0, 1), got ${confidenceLevel}`);
  return normalQuantile(1 - (1 - confidenceLevel) / 2);
}

function requireBothClasses(c: Components, what: string): void {
  if (c.positives < 2 || c.negatives < 2) throw new RangeError(`${what} needs at least 2 positives and 2 negatives, got ${c.positives} and ${c.negatives}`);
}

/** AUC with its DeLong variance and Wald interval, from a score histogram. */
export function groupedDelongAuc(h: ScoreHistogram, confidenceLevel = 0.95): GroupedAucEstimate {
  const c = components(h);
  requireBothClasses(c, 'DeLong AUC variance');
  let s10 = 0;
  let s01 = 0;
  for (let i = 0; i < c.scores.length; i++) {
    s10 += c.pos[i]! * (c.v10[i]! - c.auc) ** 2;
    s01 += c.neg[i]! * (c.v01[i]! - c.auc) ** 2;
  }
  const variance = s10 / (c.positives - 1) / c.positives + s01 / (c.negatives - 1) / c.negatives;
  const se = Math.sqrt(variance);
  const z = zFor(confidenceLevel);
  return {
    auc: c.auc,
    variance,
    standardError: se,
    confidenceInterval: [Math.max(0, c.auc - z * se), Math.min(1, c.auc + z * se)],
    positives: c.positives,
    negatives: c.negatives,
  };
}

/** Rows scored by both models (shadow mode), counted per (score A, score B, label). */
export interface PairedScoreCounts {
  readonly scoresA: ArrayLike<number>;
  readonly scoresB: ArrayLike<number>;
  /** 0 or 1 */
  readonly labels: ArrayLike<number>;
  readonly counts: ArrayLike<number>;
}

export interface GroupedAucDifference {
  readonly method: 'delong-paired' | 'delong-independent';
  readonly aucA: number;
  readonly aucB: number;
  /** aucB − aucA */
  readonly difference: number;
  readonly variance: number;
  readonly standardError: number;
  readonly z: number;
  readonly pValue: number;
  /** fixed-horizon Wald interval, difference ± z·se */
  readonly confidenceInterval: readonly [number, number];
}

function difference(method: GroupedAucDifference['method'], aucA: number, aucB: number, variance: number, confidenceLevel: number): GroupedAucDifference {
  const v = Math.max(0, variance);
  const se = Math.sqrt(v);
  const d = aucB - aucA;
  const z = se > 0 ? d / se : d === 0 ? 0 : Math.sign(d) * Infinity;
  const q = zFor(confidenceLevel);
  return { method, aucA, aucB, difference: d, variance: v, standardError: se, z, pValue: twoSidedNormalPValue(z), confidenceInterval: [d - q * se, d + q * se] };
}

/** Two arms scored on disjoint rows (split mode): Var(B − A) = Var(A) + Var(B). */
export function groupedAucDifferenceIndependent(a: ScoreHistogram, b: ScoreHistogram, confidenceLevel = 0.95): GroupedAucDifference {
  const ea = groupedDelongAuc(a, confidenceLevel);
  const eb = groupedDelongAuc(b, confidenceLevel);
  return difference('delong-independent', ea.auc, eb.auc, ea.variance + eb.variance, confidenceLevel);
}

function marginal(scores: ArrayLike<number>, labels: ArrayLike<number>, counts: ArrayLike<number>): Components {
  const byScore = new Map<number, [number, number]>();
  for (let i = 0; i < scores.length; i++) {
    const e = byScore.get(scores[i]!) ?? [0, 0];
    if (labels[i] === 1) e[0] += counts[i]!;
    else if (labels[i] === 0) e[1] += counts[i]!;
    else throw new RangeError(`label at group ${i} is ${labels[i]}; expected 0 or 1`);
    byScore.set(scores[i]!, e);
  }
  const s = [...byScore.keys()];
  return components({ scores: s, positives: s.map((k) => byScore.get(k)![0]), negatives: s.map((k) => byScore.get(k)![1]) });
}

function lookup(c: Components, s: number): number {
  let lo = 0;
  let hi = c.scores.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (c.scores[mid]! < s) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Two models scored on the same rows (shadow mode): Var(B − A) = Var(A) + Var(B) − 2 Cov(A, B),
 * the covariances from DeLong's structural components of each row under both models.
 */
export function groupedAucDifferencePaired(rows: PairedScoreCounts, confidenceLevel = 0.95): GroupedAucDifference {
  const n = rows.counts.length;
  if (rows.scoresA.length !== n || rows.scoresB.length !== n || rows.labels.length !== n) throw new RangeError('paired score counts: arrays differ in length');
  const a = marginal(rows.scoresA, rows.labels, rows.counts);
  const b = marginal(rows.scoresB, rows.labels, rows.counts);
  requireBothClasses(a, 'paired DeLong test');
  let s10 = 0;
  let s01 = 0;
  for (let i = 0; i < n; i++) {
    const ia = lookup(a, rows.scoresA[i]!);
    const ib = lookup(b, rows.scoresB[i]!);
    const c = rows.counts[i]!;
    if (rows.labels[i] === 1) {
      const d = a.v10[ia]! - a.auc - (b.v10[ib]! - b.auc);
      s10 += c * d * d;
    } else {
      const d = a.v01[ia]! - a.auc - (b.v01[ib]! - b.auc);
      s01 += c * d * d;
    }
  }
  // Σ (xA − xB)² / (m − 1) = s²(A) + s²(B) − 2 s(A, B): the variance of the paired difference.
  const variance = s10 / (a.positives - 1) / a.positives + s01 / (a.negatives - 1) / a.negatives;
  return difference('delong-paired', a.auc, b.auc, variance, confidenceLevel);
}
