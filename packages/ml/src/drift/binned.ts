import type { CategoricalFeatureProfile, NumericFeatureProfile, ReferenceProfile } from './profile.js';
import { chiSquareHomogeneity, jensenShannonDistance, ksPValue, populationStabilityIndex } from './statistics.js';

/**
 * Drift statistics from bin counts, for when the current sample is counted where it lives (in
 * Postgres, over a window of logged predictions) and never loaded: the counting side only needs
 * the thresholds below, and its result is a few hundred numbers whatever the window holds.
 *
 * Numeric features are counted in right-closed bins (−∞, t₀], (t₀, t₁], …, (t_last, +∞) over
 * `thresholds`: the PSI edges of the reference profile, its ECDF knots, and for every knot that
 * the sketch stores twice (an atom: F(x⁻) then F(x)) the largest double below x, so that
 * "count ≤ that" is "count < x". From those counts:
 *  - PSI over the profile's own bins (each PSI bin is a union of fine bins, since every edge is a
 *    threshold), with the "missing" bin and PSI_EPSILON smoothing of `populationStabilityIndex`;
 *  - the KS statistic max |F_ref − F_cur| over the ECDF knots, where both CDFs are known
 *    exactly (the reference from the stored sketch, the current from the counts). It is a lower
 *    bound of the KS statistic of the raw samples, short at most by the mass between two knots.
 *
 * KS and not the Wasserstein distance: W₁ = ∫ |F_ref − F_cur| dx needs both CDFs between the
 * knots and the extent of the tails beyond the reference's min and max, which bin counts do not
 * carry (a current value far in a tail changes W₁ without bound but lands in the same last bin);
 * KS needs the CDFs only at the knots, where both are exact, and is scale-free in [0, 1].
 *
 * p-values (KS for numeric features, χ² for categorical ones) are reported only when the current
 * sample has at most P_VALUE_MAX_ROWS rows: beyond that the tests reject for shifts far too small
 * to matter (Evidently switches from tests to distances above 1,000 rows for the same reason).
 */
export const P_VALUE_MAX_ROWS = 1000;

/** The largest double below x (x finite). */
export function previousDouble(x: number): number {
  if (x === 0) return -Number.MIN_VALUE;
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  const bits = buf.getBigUint64(0);
  buf.setBigUint64(0, x > 0 ? bits - 1n : bits + 1n);
  return buf.getFloat64(0);
}

/** What to count for one numeric feature, and how each ECDF entry maps onto the counts. */
export interface NumericBinPlan {
  readonly name: string;
  readonly kind: 'numeric';
  /** Ascending, distinct: bin b is (thresholds[b−1], thresholds[b]]; bin thresholds.length is above the last. */
  readonly thresholds: readonly number[];
  /** For each ECDF entry j: the index of the threshold t with F_cur(entry) = count(≤ t) / n. */
  readonly ecdfThreshold: readonly number[];
  /** For each fine bin: the PSI bin it belongs to. */
  readonly psiBin: readonly number[];
}

export interface CategoricalBinPlan {
  readonly name: string;
  readonly kind: 'categorical';
  /** The reference's kept categories; bin i is values[i], bin values.length is "other". */
  readonly values: readonly string[];
}

export type FeatureBinPlan = NumericBinPlan | CategoricalBinPlan;

function upperBound(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function indexOf(sorted: readonly number[], x: number): number {
  const i = upperBound(sorted, x) - 1;
  if (i < 0 || sorted[i] !== x) throw new Error(`threshold ${x} missing from the plan`);
  return i;
}

export function numericBinPlan(profile: NumericFeatureProfile): NumericBinPlan {
  const { x } = profile.ecdf;
  // The point each ECDF entry is evaluated at: x itself, or just below x for the first of a pair.
  const points = x.map((v, j) => (x[j + 1] === v ? previousDouble(v) : v));
  const thresholds = [...new Set([...profile.edges, ...points])].sort((a, b) => a - b);
  const psiBin = Array.from({ length: thresholds.length + 1 }, (_, b) =>
    // fine bin b holds values ≤ thresholds[b] (b < length): its PSI bin is the number of edges below that
    b < thresholds.length ? profile.edges.filter((e) => e < thresholds[b]!).length : profile.edges.length,
  );
  return { name: profile.name, kind: 'numeric', thresholds, ecdfThreshold: points.map((p) => indexOf(thresholds, p)), psiBin };
}

export function binPlan(profile: ReferenceProfile): FeatureBinPlan[] {
  return profile.features.map((f) => (f.kind === 'numeric' ? numericBinPlan(f) : { name: f.name, kind: 'categorical', values: f.values }));
}

/** Counts of one numeric feature over the window: `bins` per the plan's thresholds, plus missing values. */
export interface NumericBinCounts {
  readonly bins: ArrayLike<number>;
  readonly missing: number;
}

/** Counts of one categorical feature: `bins` per the plan's values, then "other"; plus missing values. */
export interface CategoricalBinCounts {
  readonly bins: ArrayLike<number>;
  readonly missing: number;
}

export interface BinnedNumericDrift {
  readonly name: string;
  readonly kind: 'numeric';
  readonly psi: number;
  /** KS over the ECDF knots (a lower bound of the raw-sample KS); the p-value only for ≤ P_VALUE_MAX_ROWS rows. */
  readonly ks: { readonly statistic: number; readonly pValue: number | null };
  readonly missingRate: { readonly reference: number; readonly current: number };
  /** Reference vs current share per PSI bin (missing last), for the report. */
  readonly bins: { readonly edges: readonly number[]; readonly reference: readonly number[]; readonly current: readonly number[] };
}

export interface BinnedCategoricalDrift {
  readonly name: string;
  readonly kind: 'categorical';
  readonly psi: number;
  readonly jensenShannon: number;
  readonly chiSquare: { readonly statistic: number; readonly dof: number; readonly pValue: number | null };
  readonly missingRate: { readonly reference: number; readonly current: number };
  readonly otherRate: { readonly reference: number; readonly current: number };
}

export type BinnedFeatureDrift = BinnedNumericDrift | BinnedCategoricalDrift;

function round(v: number, digits = 6): number {
  return Number.isFinite(v) ? Number(v.toFixed(digits)) : v;
}

export function numericDriftFromBins(profile: NumericFeatureProfile, plan: NumericBinPlan, counts: NumericBinCounts): BinnedNumericDrift {
  if (counts.bins.length !== plan.thresholds.length + 1) {
    throw new RangeError(`feature "${profile.name}": ${counts.bins.length} bin counts for ${plan.thresholds.length} thresholds`);
  }
  let present = 0;
  for (let b = 0; b < counts.bins.length; b++) present += counts.bins[b]!;
  const total = present + counts.missing;
  if (total === 0) throw new RangeError(`feature "${profile.name}": no rows counted`);

  const presentShare = 1 - profile.missingRate;
  const reference = profile.proportions.length > 0 ? profile.proportions.map((q) => q * presentShare) : [0];
  reference.push(profile.missingRate);
  const current = new Array<number>(reference.length).fill(0);
  if (profile.proportions.length > 0) for (let b = 0; b < counts.bins.length; b++) current[plan.psiBin[b]!]! += counts.bins[b]!;
  current[reference.length - 1] = counts.missing;
  const psi = populationStabilityIndex(reference, current);

  let statistic = NaN;
  const referencePresent = Math.round(profile.count * presentShare);
  if (present > 0 && referencePresent > 0) {
    const cumulative = new Float64Array(counts.bins.length);
    let run = 0;
    for (let b = 0; b < counts.bins.length; b++) cumulative[b] = run += counts.bins[b]!;
    statistic = 0;
    profile.ecdf.p.forEach((p, j) => {
      statistic = Math.max(statistic, Math.abs(p - cumulative[plan.ecdfThreshold[j]!]! / present));
    });
  }
  const pValue = present > 0 && present <= P_VALUE_MAX_ROWS && referencePresent > 0 ? ksPValue(statistic, referencePresent, present) : null;
  return {
    name: profile.name,
    kind: 'numeric',
    psi: round(psi),
    ks: { statistic: round(statistic), pValue: pValue === null ? null : round(pValue, 8) },
    missingRate: { reference: profile.missingRate, current: round(counts.missing / total) },
    bins: { edges: profile.edges, reference: reference.map((r) => round(r)), current: current.map((c) => round(c / total)) },
  };
}

export function categoricalDriftFromBins(profile: CategoricalFeatureProfile, counts: CategoricalBinCounts): BinnedCategoricalDrift {
  const k = profile.values.length;
  if (counts.bins.length !== k + 1) throw new RangeError(`feature "${profile.name}": ${counts.bins.length} bin counts for ${k} categories and "other"`);
  // Bins: each kept category, then "other", then "missing" — as in detectDrift.
  const current = [...Array.from(counts.bins), counts.missing];
  const total = current.reduce((a, b) => a + b, 0);
  if (total === 0) throw new RangeError(`feature "${profile.name}": no rows counted`);
  const present = profile.count * (1 - profile.missingRate);
  const reference = [...profile.proportions.map((q) => Math.round(q * present)), Math.round(profile.other * present), Math.round(profile.missingRate * profile.count)];
  const chi = chiSquareHomogeneity(reference, current);
  const currentPresent = total - counts.missing;
  return {
    name: profile.name,
    kind: 'categorical',
    psi: round(populationStabilityIndex(reference, current)),
    jensenShannon: round(jensenShannonDistance(reference, current)),
    chiSquare: { statistic: round(chi.statistic), dof: chi.dof, pValue: total <= P_VALUE_MAX_ROWS ? round(chi.pValue, 8) : null },
    missingRate: { reference: profile.missingRate, current: round(counts.missing / total) },
    otherRate: { reference: profile.other, current: currentPresent === 0 ? 0 : round(counts.bins[k]! / currentPresent) },
  };
}

export type FeatureStatus = 'stable' | 'warn' | 'drift';

export interface DriftVerdictOptions {
  /** PSI at or above which a feature warns (0.1). */
  readonly psiWarn: number;
  /** PSI at or above which a feature drifts (0.2). */
  readonly psiDrift: number;
  /** The model drifts when at least this share of its features drift (0.3). */
  readonly driftShare: number;
}

export interface DriftVerdict {
  readonly status: Readonly<Record<string, FeatureStatus>>;
  readonly driftedFeatures: readonly string[];
  readonly warnedFeatures: readonly string[];
  readonly driftedShare: number;
  readonly drifted: boolean;
}

export function featureStatus(psi: number, o: Pick<DriftVerdictOptions, 'psiWarn' | 'psiDrift'>): FeatureStatus {
  if (psi >= o.psiDrift) return 'drift';
  if (psi >= o.psiWarn) return 'warn';
  return 'stable';
}

/** The verdict over features: each by its PSI, the model by the share of drifting features. */
export function driftVerdict(features: readonly { name: string; psi: number }[], o: DriftVerdictOptions): DriftVerdict {
  const status: Record<string, FeatureStatus> = {};
  for (const f of features) status[f.name] = featureStatus(f.psi, o);
  const driftedFeatures = features.filter((f) => status[f.name] === 'drift').map((f) => f.name);
  const warnedFeatures = features.filter((f) => status[f.name] === 'warn').map((f) => f.name);
  const driftedShare = features.length === 0 ? 0 : driftedFeatures.length / features.length;
  return { status, driftedFeatures, warnedFeatures, driftedShare: round(driftedShare), drifted: features.length > 0 && driftedShare >= o.driftShare };
}
