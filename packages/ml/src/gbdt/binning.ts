import type { Matrix } from '../matrix.js';

/**
 * Histogram bins. Every value is first rounded to float32 (exported models take float32 input and
 * store float32 thresholds), then mapped to a bin by the float32 thresholds of its feature:
 *
 *   bin(x) = number of thresholds t with t <= fround(x),   so   bin(x) <= b  ⟺  fround(x) < thresholds[b].
 *
 * A split "bin <= b goes left" is therefore exactly the ONNX node `BRANCH_LT thresholds[b]` for any
 * float32 input, and no rounding can move a row to the other side.
 */

/**
 * At most 255 value bins per feature; NaN takes the bin after the last value bin (`binCount`), so
 * every bin index, NaN's included, fits a Uint8Array.
 */
export const MAX_VALUE_BINS = 255;

export interface FeatureBins {
  /** Ascending float32 values; bin b holds the values in [thresholds[b-1], thresholds[b]). */
  readonly thresholds: Float32Array;
}

/** Number of value bins of a feature, which is also the bin index of NaN. */
export function binCount(bins: FeatureBins): number {
  return bins.thresholds.length + 1;
}

/**
 * A float32 value strictly above `lo` and at most `hi` (both float32), near their midpoint. The
 * midpoint generalises better to unseen values than either end; the fallback covers adjacent
 * float32 numbers and infinities, where the rounded midpoint collapses onto `lo` or is NaN.
 */
function between(lo: number, hi: number): number {
  const t = Math.fround(lo / 2 + hi / 2);
  return t > lo && t <= hi ? t : hi;
}

/**
 * Quantile bins per feature from the training matrix, computed once before boosting, together
 * with the training matrix's bins (column-major, `binned[f * rows + i]`).
 *
 * A feature with at most `maxBins` distinct values gets one bin per value; otherwise boundaries
 * are placed at the start of the distinct value holding each k/maxBins quantile, so a heavy value
 * (many zeros, say) takes a single bin rather than several empty ones.
 *
 * Each column is sorted by a radix sort on the float32 bit patterns, carrying row indices along,
 * so the training rows are binned by one walk in sorted order instead of a binary search each.
 */
export function binTrainingMatrix(X: Matrix, maxBins: number): { bins: FeatureBins[]; binned: Uint8Array } {
  if (!Number.isInteger(maxBins) || maxBins < 2 || maxBins > MAX_VALUE_BINS) {
    throw new RangeError(`maxBins must be an integer in [2, ${MAX_VALUE_BINS}], got ${maxBins}`);
  }
  const { rows, cols, data } = X;
  const binned = new Uint8Array(rows * cols);
  const sorter = new RadixSorter(rows);
  const missingRows = new Int32Array(rows);
  const startsAt = new Int32Array(rows);
  const bins: FeatureBins[] = [];
  for (let f = 0; f < cols; f++) {
    let m = 0;
    let missing = 0;
    const floats = sorter.values;
    for (let i = 0; i < rows; i++) {
      const v = data[i * cols + f]!;
      if (v === v) {
        floats[m] = v;
        sorter.index[m++] = i;
      } else {
        missingRows[missing++] = i;
      }
    }
    const { values: sorted, index: order } = sorter.sort(m);
    const thresholds = chooseThresholds(sorted, m, maxBins, startsAt);
    const base = f * rows;
    let bin = 0;
    for (let k = 0; k < m; k++) {
      const v = sorted[k]!;
      while (bin < thresholds.length && thresholds[bin]! <= v) bin++;
      binned[base + order[k]!] = bin;
    }
    for (let k = 0; k < missing; k++) binned[base + missingRows[k]!] = thresholds.length + 1;
    bins.push({ thresholds });
  }
  return { bins, binned };
}

/** The bins alone (see `binTrainingMatrix`). */
export function computeBins(X: Matrix, maxBins: number): FeatureBins[] {
  return binTrainingMatrix(X, maxBins).bins;
}

/** Thresholds from the first `m` entries of `sorted` (ascending float32 values, no NaN). */
function chooseThresholds(sorted: Float32Array, m: number, maxBins: number, startsAt: Int32Array): Float32Array {
  // Sorted positions where each distinct value starts. Numeric comparison, so −0 and +0 (adjacent
  // in bit order) are one value.
  let nDistinct = 0;
  for (let i = 0; i < m; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) startsAt[nDistinct++] = i;
  const thresholds: number[] = [];
  const boundary = (d: number): number => between(sorted[startsAt[d - 1]!]!, sorted[startsAt[d]!]!);
  if (nDistinct <= maxBins) {
    for (let d = 1; d < nDistinct; d++) thresholds.push(boundary(d));
  } else {
    let d = 0;
    let last = 0;
    for (let k = 1; k < maxBins; k++) {
      const pos = Math.floor((k * m) / maxBins);
      while (d + 1 < nDistinct && startsAt[d + 1]! <= pos) d++;
      if (d > last) {
        thresholds.push(boundary(d));
        last = d;
      }
    }
  }
  return Float32Array.from(thresholds);
}

/**
 * LSD radix sort of float32 values (8 bits per pass) with a payload of row indices. Float bit
 * patterns order like sign-magnitude integers; flipping the sign bit of positives and all bits of
 * negatives turns them into unsigned keys that order like the numbers. Passes whose byte is the
 * same for every key (the high bytes of small integers, say) are skipped.
 */
class RadixSorter {
  /** Input: fill values[0, m) and index[0, m), then call sort(m). */
  readonly values: Float32Array;
  readonly index: Int32Array;
  private readonly keys: Uint32Array;
  private readonly keysB: Uint32Array;
  private readonly indexB: Int32Array;
  private readonly valuesB: Float32Array;
  private readonly count = new Int32Array(256);

  constructor(n: number) {
    this.values = new Float32Array(n);
    this.index = new Int32Array(n);
    this.keys = new Uint32Array(this.values.buffer);
    this.valuesB = new Float32Array(n);
    this.keysB = new Uint32Array(this.valuesB.buffer);
    this.indexB = new Int32Array(n);
  }

  /** Sorts values[0, m) ascending, carrying index along; returns the arrays holding the result. */
  sort(m: number): { values: Float32Array; index: Int32Array } {
    let keys = this.keys;
    let index = this.index;
    let keysOut = this.keysB;
    let indexOut = this.indexB;
    for (let i = 0; i < m; i++) {
      const u = keys[i]!;
      keys[i] = u & 0x80000000 ? ~u : u | 0x80000000;
    }
    const count = this.count;
    for (let shift = 0; shift < 32; shift += 8) {
      count.fill(0);
      for (let i = 0; i < m; i++) count[(keys[i]! >>> shift) & 0xff]!++;
      if (m === 0 || count[(keys[0]! >>> shift) & 0xff] === m) continue;
      let sum = 0;
      for (let b = 0; b < 256; b++) {
        const c = count[b]!;
        count[b] = sum;
        sum += c;
      }
      for (let i = 0; i < m; i++) {
        const k = keys[i]!;
        const pos = count[(k >>> shift) & 0xff]!++;
        keysOut[pos] = k;
        indexOut[pos] = index[i]!;
      }
      [keys, keysOut] = [keysOut, keys];
      [index, indexOut] = [indexOut, index];
    }
    for (let i = 0; i < m; i++) {
      const u = keys[i]!;
      keys[i] = u & 0x80000000 ? u ^ 0x80000000 : ~u;
    }
    return { values: keys === this.keys ? this.values : this.valuesB, index };
  }
}

/** The bin of one value (binary search over the float32 thresholds); NaN → `thresholds.length + 1`. */
export function binOf(value: number, thresholds: Float32Array): number {
  const v = Math.fround(value);
  if (v !== v) return thresholds.length + 1;
  let lo = 0;
  let hi = thresholds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (thresholds[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Bins of a whole matrix, column-major (`out[f * rows + i]`), the layout the histogram loops read. */
export function binMatrix(X: Matrix, bins: readonly FeatureBins[]): Uint8Array {
  const { rows, cols, data } = X;
  if (bins.length !== cols) throw new RangeError(`matrix has ${cols} columns, bins describe ${bins.length}`);
  const out = new Uint8Array(rows * cols);
  for (let f = 0; f < cols; f++) {
    const thresholds = bins[f]!.thresholds;
    const base = f * rows;
    for (let i = 0; i < rows; i++) out[base + i] = binOf(data[i * cols + f]!, thresholds);
  }
  return out;
}
