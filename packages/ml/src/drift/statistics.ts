import { chiSquareSurvival, kolmogorovSurvival } from '../metrics/special-functions.js';

/**
 * Smoothing for PSI: ε is added to every bin proportion of both distributions, which are then
 * renormalised. Without it one empty bin makes PSI infinite. 1e-4 (a common choice in credit
 * scoring) keeps a bin that is empty in the reference but holds 5% of the current sample worth
 * ≈ 0.31 — a clear signal — while two empty bins contribute exactly 0.
 */
export const PSI_EPSILON = 1e-4;

function normalise(values: ArrayLike<number>, what: string): Float64Array {
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`${what}[${i}] is ${v}; expected a finite non-negative number`);
    total += v;
  }
  if (total === 0) throw new RangeError(`${what} is all zeros`);
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i]! / total;
  return out;
}

function checkSameLength(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new RangeError(`distributions have different numbers of bins: ${a.length} vs ${b.length}`);
  if (a.length === 0) throw new RangeError('distributions have no bins');
}

/**
 * Population stability index Σ (cᵢ − rᵢ) · ln(cᵢ / rᵢ) between a reference and a current
 * distribution over the same bins (counts or proportions; each side is normalised first), with
 * `epsilon` smoothing (see PSI_EPSILON). Rule of thumb: < 0.1 stable, 0.1–0.2 moderate shift,
 * > 0.2 significant shift.
 */
export function populationStabilityIndex(reference: ArrayLike<number>, current: ArrayLike<number>, epsilon = PSI_EPSILON): number {
  checkSameLength(reference, current);
  const r = normalise(reference, 'reference');
  const c = normalise(current, 'current');
  const k = r.length;
  let psi = 0;
  for (let i = 0; i < k; i++) {
    const ri = (r[i]! + epsilon) / (1 + k * epsilon);
    const ci = (c[i]! + epsilon) / (1 + k * epsilon);
    psi += (ci - ri) * Math.log(ci / ri);
  }
  return psi;
}

/**
 * Jensen–Shannon distance: the square root of the JS divergence with base-2 logarithms, so it
 * lies in [0, 1] (0 identical, 1 disjoint support). It is a metric and needs no smoothing, since
 * each distribution is only compared with the mixture M = (P + Q) / 2, which is non-zero wherever
 * either is. (SciPy's `jensenshannon` uses natural logs by default; pass base=2 to match.)
 */
export function jensenShannonDistance(p: ArrayLike<number>, q: ArrayLike<number>): number {
  checkSameLength(p, q);
  const a = normalise(p, 'p');
  const b = normalise(q, 'q');
  let divergence = 0;
  for (let i = 0; i < a.length; i++) {
    const ai = a[i]!;
    const bi = b[i]!;
    const m = (ai + bi) / 2;
    if (ai > 0) divergence += 0.5 * ai * Math.log2(ai / m);
    if (bi > 0) divergence += 0.5 * bi * Math.log2(bi / m);
  }
  // Rounding can leave a divergence of −1e-17 for identical inputs.
  return Math.sqrt(Math.min(1, Math.max(0, divergence)));
}

export interface ChiSquareResult {
  readonly statistic: number;
  readonly dof: number;
  readonly pValue: number;
}

/**
 * Pearson chi-square test of homogeneity on a 2 × k table of counts (reference row, current row):
 * H₀ says both samples come from one categorical distribution. Categories empty in both rows are
 * dropped before counting degrees of freedom, dof = (k' − 1). With fewer than two non-empty
 * categories there is nothing to test: statistic 0, dof 0, p = 1. The usual caveat applies —
 * expected counts below ~5 make the chi-square approximation optimistic.
 */
export function chiSquareHomogeneity(reference: ArrayLike<number>, current: ArrayLike<number>): ChiSquareResult {
  checkSameLength(reference, current);
  let totalR = 0;
  let totalC = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i]!;
    const c = current[i]!;
    if (!(r >= 0 && c >= 0)) throw new RangeError(`counts must be non-negative, got ${r} and ${c} in category ${i}`);
    totalR += r;
    totalC += c;
  }
  if (totalR === 0 || totalC === 0) throw new RangeError('chi-square test needs at least one count in each sample');
  const total = totalR + totalC;
  let statistic = 0;
  let categories = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i]!;
    const c = current[i]!;
    const column = r + c;
    if (column === 0) continue;
    categories++;
    const expectedR = (totalR * column) / total;
    const expectedC = (totalC * column) / total;
    statistic += (r - expectedR) ** 2 / expectedR + (c - expectedC) ** 2 / expectedC;
  }
  const dof = categories - 1;
  if (dof < 1) return { statistic: 0, dof: 0, pValue: 1 };
  return { statistic, dof, pValue: chiSquareSurvival(statistic, dof) };
}

export interface KsResult {
  /** sup over x of |F₁(x) − F₂(x)|. */
  readonly statistic: number;
  /** Asymptotic two-sided p-value (see ksPValue); NaN when either sample is empty. */
  readonly pValue: number;
}

/**
 * Asymptotic p-value of the two-sample KS statistic D for sample sizes n and m: Q_KS(λ) with
 * λ = (√nₑ + 0.12 + 0.11/√nₑ) · D and nₑ = nm / (n + m) — Stephens' (1970) correction, which
 * makes the Kolmogorov limit usable from nₑ ≈ 4 on. With ties (discrete features) the test is
 * conservative: true p-values are smaller than reported.
 */
export function ksPValue(statistic: number, n: number, m: number): number {
  if (!(n > 0 && m > 0) || Number.isNaN(statistic)) return NaN;
  const sqrtNe = Math.sqrt((n * m) / (n + m));
  return kolmogorovSurvival((sqrtNe + 0.12 + 0.11 / sqrtNe) * statistic);
}

/** Sorted copy of the non-NaN values. */
export function sortedFinite(values: ArrayLike<number>): Float64Array {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i]!)) n++;
  const out = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isNaN(v)) out[k++] = v;
  }
  return out.sort();
}

/** Number of elements of ascending `sorted` that are ≤ x (upper bound). */
export function countAtMost(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Number of elements of ascending `sorted` that are < x (lower bound). */
export function countBelow(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Exact two-sample Kolmogorov–Smirnov statistic on raw samples (NaN values ignored), with the
 * asymptotic p-value. Both empirical CDFs are step functions that jump only at observed values,
 * so the supremum is found by walking the merged distinct values — ties are handled exactly.
 */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>): KsResult {
  const x = sortedFinite(a);
  const y = sortedFinite(b);
  const n = x.length;
  const m = y.length;
  if (n === 0 || m === 0) return { statistic: NaN, pValue: NaN };
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n && j < m) {
    const v = Math.min(x[i]!, y[j]!);
    while (i < n && x[i] === v) i++;
    while (j < m && y[j] === v) j++;
    d = Math.max(d, Math.abs(i / n - j / m));
  }
  return { statistic: d, pValue: ksPValue(d, n, m) };
}
