import { z } from 'zod';
import type { Matrix } from '../matrix.js';
import { countAtMost, countBelow, sortedFinite } from './statistics.js';

/**
 * A reference profile summarises the training data of a model version compactly enough to store
 * next to it (≈ 14 KB for the 23 features of the credit-default data, < 20 KB even for 23 features
 * of arbitrary doubles) and is what live traffic is compared against.
 *
 * Numeric features keep:
 *  - `edges`/`proportions`: PSI bins. Edges are quantiles of the reference (type-1, i.e. observed
 *    values, at 1/bins … (bins−1)/bins), rounded to 6 significant digits and de-duplicated, so a
 *    discrete feature simply gets fewer bins. Bin i is (edges[i−1], edges[i]] — right-closed — with
 *    (−∞, edges[0]] first and (edges[last], +∞) last; proportions are among non-missing values and
 *    were counted with the rounded edges, so they are exact for the stored edges.
 *  - `ecdf`: a sketch of the empirical CDF for the KS test, F(x) = share of non-missing values ≤ x
 *    stored at knots `x` (see the ecdf schema below).
 * Categorical features keep the `topK` most frequent values with their shares among non-missing
 * values and the share of all other values (`other`). Missing values (NaN, null, '') are counted
 * in `missingRate` for both kinds, and drift detection treats "missing" as one more bin.
 */

const ecdfSchema = z
  .object({
    /**
     * Ascending knots; `p` holds F at each, rounded to 1e-5. With `exact: true` they are every
     * distinct reference value and the reference CDF is the step function through them.
     * Otherwise they are the quantiles at 0, 1/(k−1), …, 1 for k = `options.ecdfPoints` (min and
     * max exact, the others rounded to 5 significant digits) plus every atom (a value holding ≥ 1%
     * of the rows, e.g. the zeros of a payment amount), which appears twice: first with F(x⁻),
     * then with F(x). Between knots the CDF is only known to lie between its neighbours' values;
     * see `detectDrift` for how KS uses that.
     */
    x: z.array(z.number()),
    p: z.array(z.number().min(0).max(1)),
    exact: z.boolean(),
  })
  .refine((e) => e.x.length === e.p.length, { message: 'ecdf.x and ecdf.p differ in length' });

export const numericFeatureProfileSchema = z
  .object({
    name: z.string(),
    kind: z.literal('numeric'),
    /** Rows seen, missing ones included. */
    count: z.number().int().nonnegative(),
    missingRate: z.number().min(0).max(1),
    /** Null when every value is missing. */
    mean: z.number().nullable(),
    /** Sample standard deviation (n − 1); 0 for a single value. */
    std: z.number().nullable(),
    min: z.number().nullable(),
    max: z.number().nullable(),
    edges: z.array(z.number()),
    proportions: z.array(z.number().min(0).max(1)),
    ecdf: ecdfSchema,
  })
  .refine((f) => f.count === 0 || f.missingRate === 1 || f.proportions.length === f.edges.length + 1, {
    message: 'proportions must have one more entry than edges',
  });

export const categoricalFeatureProfileSchema = z
  .object({
    name: z.string(),
    kind: z.literal('categorical'),
    count: z.number().int().nonnegative(),
    missingRate: z.number().min(0).max(1),
    /** Most frequent values first (ties by value), at most `topK`. */
    values: z.array(z.string()),
    proportions: z.array(z.number().min(0).max(1)),
    /** Share of non-missing values outside `values`. */
    other: z.number().min(0).max(1),
  })
  .refine((f) => f.values.length === f.proportions.length, { message: 'values and proportions differ in length' });

export const featureProfileSchema = z.union([numericFeatureProfileSchema, categoricalFeatureProfileSchema]);

export const referenceProfileSchema = z.object({
  version: z.literal(1),
  rows: z.number().int().nonnegative(),
  options: z.object({
    bins: z.number().int().positive(),
    topK: z.number().int().positive(),
    ecdfPoints: z.number().int().min(2),
  }),
  features: z.array(featureProfileSchema),
});

export type NumericFeatureProfile = z.infer<typeof numericFeatureProfileSchema>;
export type CategoricalFeatureProfile = z.infer<typeof categoricalFeatureProfileSchema>;
export type FeatureProfile = z.infer<typeof featureProfileSchema>;
export type ReferenceProfile = z.infer<typeof referenceProfileSchema>;

/** Validate stored JSON (e.g. a registry version's `referenceProfile`) as a reference profile. */
export function parseReferenceProfile(json: unknown): ReferenceProfile {
  return referenceProfileSchema.parse(json);
}

/** Numbers for numeric features; strings (null/undefined/'' = missing) for categorical ones. */
export type ColumnValues = Float64Array | readonly number[] | readonly (string | null | undefined)[];

export interface FeatureColumn {
  readonly name: string;
  readonly values: ColumnValues;
}

export interface ProfileOptions {
  /** PSI bins per numeric feature; 10 by default (deciles). */
  readonly bins?: number;
  /** Categories kept per categorical feature; 20 by default. */
  readonly topK?: number;
  /**
   * Quantile knots of the ECDF sketch of a continuous feature; 33 by default (every 1/32 ≈ 3%).
   * Atoms come on top; features with at most 100 distinct values are stored exactly instead.
   */
  readonly ecdfPoints?: number;
  /** Numeric columns to profile as categories (their values as strings), e.g. integer codes. */
  readonly categorical?: readonly string[];
}

/** The columns of a feature matrix, ready for `buildReferenceProfile` and `detectDrift`. */
export function columnsFromMatrix(featureNames: readonly string[], X: Matrix): FeatureColumn[] {
  if (featureNames.length !== X.cols) {
    throw new RangeError(`${featureNames.length} feature names for a matrix with ${X.cols} columns`);
  }
  return featureNames.map((name, j) => {
    const values = new Float64Array(X.rows);
    for (let i = 0; i < X.rows; i++) values[i] = X.data[i * X.cols + j]!;
    return { name, values };
  });
}

/** Whether a column holds strings (categorical) rather than numbers. */
export function isStringColumn(values: ColumnValues): values is readonly (string | null | undefined)[] {
  if (values instanceof Float64Array) return false;
  for (const v of values) if (typeof v === 'string') return true;
  return false;
}

/** Category labels of a column: strings as they are, numbers via String(); missing → null. */
export function categoryLabels(values: ColumnValues): (string | null)[] {
  const out: (string | null)[] = new Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined || v === '' || (typeof v === 'number' && Number.isNaN(v))) out[i] = null;
    else out[i] = String(v);
  }
  return out;
}

/** Numeric values of a column; null/undefined/'' → NaN. Throws on a non-numeric string. */
export function numericValues(name: string, values: ColumnValues): Float64Array {
  if (values instanceof Float64Array) return values;
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'number') out[i] = v;
    else if (v === null || v === undefined || v === '') out[i] = NaN;
    else throw new TypeError(`numeric feature "${name}" has the non-numeric value ${JSON.stringify(v)} at index ${i}`);
  }
  return out;
}

/** Share of the rows at which a single value counts as an atom of the ECDF sketch. */
const ATOM_SHARE = 0.01;

function round6(v: number): number {
  return Number(v.toPrecision(6));
}

/**
 * ECDF sketch values carry fewer digits than the rest (they are most of a profile's size). Knots
 * are rounded before F is evaluated at them, so F stays exact at the stored knot; F to 1e-5 is
 * far below the resolution of any KS test on realistic sample sizes.
 */
function roundKnot(v: number): number {
  return Number(v.toPrecision(5));
}

function roundCdf(v: number): number {
  return Math.round(v * 1e5) / 1e5;
}

function roundShare(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

/** Type-1 (inverse ECDF) quantile of ascending values: an observed value. */
function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Bin counts for right-closed bins (−∞, e₀], (e₀, e₁], …, (e_last, +∞) over ascending values. */
export function binCounts(sorted: Float64Array, edges: readonly number[]): Float64Array {
  const counts = new Float64Array(edges.length + 1);
  let previous = 0;
  for (let b = 0; b < edges.length; b++) {
    const upTo = countAtMost(sorted, edges[b]!);
    counts[b] = upTo - previous;
    previous = upTo;
  }
  counts[edges.length] = sorted.length - previous;
  return counts;
}

function profileNumeric(name: string, values: Float64Array, bins: number, ecdfPoints: number): NumericFeatureProfile {
  const count = values.length;
  const sorted = sortedFinite(values);
  const n = sorted.length;
  const missingRate = count === 0 ? 0 : roundShare((count - n) / count);
  if (n === 0) {
    return { name, kind: 'numeric', count, missingRate, mean: null, std: null, min: null, max: null, edges: [], proportions: [], ecdf: { x: [], p: [], exact: true } };
  }
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (sorted[i]! - mean) ** 2;
  const std = n > 1 ? Math.sqrt(squares / (n - 1)) : 0;

  const edges: number[] = [];
  for (let b = 1; b < bins; b++) {
    const e = round6(quantile(sorted, b / bins));
    if (edges.length === 0 || e > edges[edges.length - 1]!) edges.push(e);
  }
  const proportions = Array.from(binCounts(sorted, edges), (c) => roundShare(c / n));

  const { x, p, exact } = ecdfSketch(sorted, ecdfPoints);
  return { name, kind: 'numeric', count, missingRate, mean: round6(mean), std: round6(std), min: sorted[0]!, max: sorted[n - 1]!, edges, proportions, ecdf: { x, p, exact } };
}

/**
 * Up to this many distinct values a feature's ECDF is stored exactly (integer codes, ages, round
 * credit limits): at ~14 bytes per value that costs about what a quantile sketch does.
 */
const EXACT_ECDF_MAX_VALUES = 100;

/**
 * ECDF knots for the KS test. Up to EXACT_ECDF_MAX_VALUES distinct values the step function is
 * stored exactly. Beyond that: the quantiles at k/(points − 1) plus every atom (a value holding
 * at least ATOM_SHARE of the rows, e.g. the zeros and round amounts of payment columns), each atom
 * stored twice — F(x⁻) then F(x) — so that the CDF is pinned down on both sides of every large
 * jump. That kind has at most `points` entries plus two per atom. A knot rounded onto the next
 * atom's value absorbs it (the atom's left limit is then unknown), which loosens the KS bound there
 * but never makes it wrong: F is always computed at the stored knot.
 */
function ecdfSketch(sorted: Float64Array, points: number): NumericFeatureProfile['ecdf'] {
  const n = sorted.length;
  const distinct: number[] = [];
  const atoms: number[] = [];
  const atomMass = ATOM_SHARE * n;
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && sorted[j] === sorted[i]) j++;
    distinct.push(sorted[i]!);
    if (j - i >= atomMass) atoms.push(sorted[i]!);
    i = j;
  }
  const x: number[] = [];
  const p: number[] = [];
  if (distinct.length <= EXACT_ECDF_MAX_VALUES) {
    for (const v of distinct) {
      x.push(v);
      p.push(roundCdf(countAtMost(sorted, v) / n));
    }
    return { x, p, exact: true };
  }
  const candidates = new Set(atoms);
  for (let k = 0; k < points; k++) candidates.add(quantile(sorted, k / (points - 1)));
  const atomSet = new Set(atoms);
  const min = sorted[0]!;
  const max = sorted[n - 1]!;
  for (const raw of [...candidates].sort((a, b) => a - b)) {
    const isAtom = atomSet.has(raw);
    const knot = raw === min || raw === max || isAtom ? raw : roundKnot(raw);
    const last = x[x.length - 1];
    if (last !== undefined && knot <= last) continue;
    if (isAtom) {
      x.push(knot);
      p.push(roundCdf(countBelow(sorted, knot) / n));
    }
    x.push(knot);
    p.push(roundCdf(countAtMost(sorted, knot) / n));
  }
  return { x, p, exact: false };
}

function profileCategorical(name: string, values: ColumnValues, topK: number): CategoricalFeatureProfile {
  const labels = categoryLabels(values);
  const counts = new Map<string, number>();
  let missing = 0;
  for (const label of labels) {
    if (label === null) missing++;
    else counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  const count = labels.length;
  const present = count - missing;
  const ranked = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, topK);
  let kept = 0;
  for (const [, c] of ranked) kept += c;
  return {
    name,
    kind: 'categorical',
    count,
    missingRate: count === 0 ? 0 : roundShare(missing / count),
    values: ranked.map(([v]) => v),
    proportions: ranked.map(([, c]) => roundShare(c / present)),
    other: present === 0 ? 0 : roundShare((present - kept) / present),
  };
}

/**
 * Profile a dataset's features. Numeric columns (numbers, Float64Array) get quantile bins and an
 * ECDF sketch; string columns, and numeric columns named in `options.categorical`, get top-k
 * frequencies. All columns must have the same length.
 */
export function buildReferenceProfile(columns: readonly FeatureColumn[], options: ProfileOptions = {}): ReferenceProfile {
  const bins = options.bins ?? 10;
  const topK = options.topK ?? 20;
  const ecdfPoints = options.ecdfPoints ?? 33;
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be a positive integer, got ${bins}`);
  if (!Number.isInteger(topK) || topK < 1) throw new RangeError(`topK must be a positive integer, got ${topK}`);
  if (!Number.isInteger(ecdfPoints) || ecdfPoints < 2) throw new RangeError(`ecdfPoints must be an integer >= 2, got ${ecdfPoints}`);
  const categorical = new Set(options.categorical ?? []);
  const rows = columns[0]?.values.length ?? 0;
  const seen = new Set<string>();
  const features = columns.map(({ name, values }) => {
    if (values.length !== rows) throw new RangeError(`column "${name}" has ${values.length} values, expected ${rows}`);
    if (seen.has(name)) throw new RangeError(`column "${name}" appears twice`);
    seen.add(name);
    if (categorical.has(name) || isStringColumn(values)) return profileCategorical(name, values, topK);
    return profileNumeric(name, numericValues(name, values), bins, ecdfPoints);
  });
  return { version: 1, rows, options: { bins, topK, ecdfPoints }, features };
}
