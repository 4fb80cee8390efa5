import type { GbdtParams } from './params.js';
import type { GbdtTree } from './tree.js';

/**
 * Grows one tree depth-wise on pre-binned data. Everything in the loops is a typed array:
 *
 * - `binned` is column-major uint8 (`binned[f * n + row]`); NaN has the bin `nBins[f]`;
 * - every node owns a contiguous range of `rows`, kept in ascending row order by a stable
 *   partition, so the column reads inside a node move forward through memory;
 * - a node's gradients and hessians are gathered once into `gh` (interleaved) before the
 *   per-feature passes instead of being re-read through the row index for every feature;
 * - after a split only the child with fewer rows gets a histogram pass; the sibling's histogram is
 *   the parent's minus it, computed in place in the parent's buffer (the subtraction trick).
 *
 * Histogram layout: feature f owns the slots [offset[f], offset[f + 1]) as (gradient sum, hessian
 * sum) pairs, one per value bin and a last one for NaN. Sizing each block by the feature's real bin
 * count (not 256) shrinks the buffers that every split zeroes and subtracts: most tabular features
 * have far fewer than 255 distinct values.
 *
 * Joint columns: the histogram passes cost one read-modify-write per row and feature, and that is
 * most of the training time. Low-cardinality features (codes, flags, small counts) are therefore
 * bundled into joint columns whose bin is the mixed-radix combination of the members' bins (NaN
 * included), as long as the combination fits a byte; one pass over a joint column yields the joint
 * histogram, and each member's histogram is its marginal — a sum over at most 256 cells instead of
 * a pass over the rows. Worth it only for nodes with many rows, so small nodes use plain columns.
 */

/** Splits gaining no more than this are noise; XGBoost uses the same floor (kRtEps). */
const MIN_GAIN = 1e-6;
/**
 * Nodes with fewer rows build their histograms from plain columns: marginalising a joint
 * histogram costs about as much as a pass over this many rows.
 */
const JOINT_MIN_ROWS = 256;
/** Joint bins must fit a byte. */
const JOINT_MAX_CELLS = 256;

/** Low-cardinality features sharing one joint column. */
interface Bundle {
  readonly members: Int32Array;
  /** Joint bin count (product of the members' bin counts, NaN bins included). */
  readonly cells: number;
  /** Histogram slot of the joint histogram's first cell. */
  readonly histOffset: number;
  /** For member i and joint cell j: slotMap[i * cells + j] is the member's histogram slot of that cell. */
  readonly slotMap: Int32Array;
}

/** A tree plus, for training only, its split bins and the rows each leaf received. */
export interface GrownTree {
  readonly tree: GbdtTree;
  /** Split bin per node (left iff bin <= splitBin; −1 sends every value right); −2 on leaves. */
  readonly splitBin: Int32Array;
  /** Leaves whose rows were partitioned: node id and [start, end) range in the grower's `rows`. */
  readonly leaves: readonly { node: number; start: number; end: number }[];
  /**
   * Splits at the last level, whose children are leaves: their rows stay unpartitioned in
   * [start, end), because the only use of that partition would be the score update, which
   * `addToScores` does directly from the bins — one pass instead of two.
   */
  readonly lastSplits: readonly { node: number; start: number; end: number }[];
}

interface OpenNode {
  readonly id: number;
  readonly depth: number;
  readonly start: number;
  readonly end: number;
  readonly g: number;
  readonly h: number;
  /** null when the node cannot be split further (depth or weight), so no histogram was built. */
  readonly hist: Float64Array | null;
}

export class TreeGrower {
  /** Row indices of the current tree's sample, partitioned by node. */
  readonly rows: Int32Array;
  /** `rows` in [0, n) and the partition's scratch in [n, 2n): one array, so one bounds-checked object in the loop. */
  private readonly rowBuffer: Int32Array;
  private readonly gh: Float64Array;
  private readonly histPool: Float64Array[] = [];
  private readonly offset: Int32Array;
  private readonly goesLeft = new Uint8Array(256);
  private readonly byDirection = new Float64Array(2);
  /** Columns 0..F−1: the features' bins (`binned`); column F + k: bundle k's joint bins. */
  private readonly store: Uint8Array;
  /** Per column: histogram slot of its bin 0. */
  private readonly columnSlot: Int32Array;
  private readonly bundles: Bundle[];
  /** Bundle index of each feature, −1 when it has its own column. */
  private readonly bundleOf: Int32Array;
  private readonly histSize: number;
  /** Scratch for one histogram pass: the columns to read, and which features are active. */
  private readonly columns: Int32Array;
  private readonly active: Uint8Array;
  private readonly bundleUsed: Uint8Array;

  constructor(
    private readonly n: number,
    binned: Uint8Array,
    /** Value bins per feature; also each feature's NaN bin. */
    private readonly nBins: Int32Array,
    private readonly thresholds: readonly Float32Array[],
    private readonly params: GbdtParams,
  ) {
    this.rowBuffer = new Int32Array(2 * n);
    this.rows = this.rowBuffer.subarray(0, n);
    this.gh = new Float64Array(2 * n);
    const nFeatures = nBins.length;
    this.offset = new Int32Array(nFeatures + 1);
    for (let f = 0; f < nFeatures; f++) this.offset[f + 1] = this.offset[f]! + 2 * (nBins[f]! + 1);

    const groups = planBundles(nBins);
    this.bundleOf = new Int32Array(nFeatures).fill(-1);
    this.store = new Uint8Array((nFeatures + groups.length) * n);
    this.store.set(binned);
    this.columnSlot = new Int32Array(nFeatures + groups.length);
    for (let f = 0; f < nFeatures; f++) this.columnSlot[f] = this.offset[f]!;
    let slot = this.offset[nFeatures]!;
    this.bundles = groups.map((members, k) => {
      const radix = members.map((f) => nBins[f]! + 1);
      const cells = radix.reduce((a, b) => a * b, 1);
      // Mixed radix, first member most significant: cell = ((b0·R1 + b1)·R2 + b2)…
      const stride = radix.map((_, i) => radix.slice(i + 1).reduce((a, b) => a * b, 1));
      const column = (nFeatures + k) * n;
      for (let r = 0; r < n; r++) {
        let cell = 0;
        for (let i = 0; i < members.length; i++) cell += binned[members[i]! * n + r]! * stride[i]!;
        this.store[column + r] = cell;
      }
      const slotMap = new Int32Array(members.length * cells);
      members.forEach((f, i) => {
        this.bundleOf[f] = k;
        for (let cell = 0; cell < cells; cell++) {
          slotMap[i * cells + cell] = this.offset[f]! + 2 * (Math.floor(cell / stride[i]!) % radix[i]!);
        }
      });
      this.columnSlot[nFeatures + k] = slot;
      const bundle: Bundle = { members: Int32Array.from(members), cells, histOffset: slot, slotMap };
      slot += 2 * cells;
      return bundle;
    });
    this.histSize = slot;
    this.columns = new Int32Array(nFeatures + groups.length);
    this.active = new Uint8Array(nFeatures);
    this.bundleUsed = new Uint8Array(groups.length);
  }

  /**
   * Grows a tree on `rows[0, rowCount)` (ascending row indices, filled by the caller) using only
   * `features` (ascending). `grad` holds each row's gradient and hessian interleaved
   * (`grad[2r]`, `grad[2r + 1]`): one cache line serves both.
   */
  grow(grad: Float64Array, rowCount: number, features: Int32Array): GrownTree {
    const { maxDepth, minChildWeight, lambda, learningRate } = this.params;
    const feature: number[] = [];
    const threshold: number[] = [];
    const defaultLeft: boolean[] = [];
    const left: number[] = [];
    const right: number[] = [];
    const value: number[] = [];
    const gain: number[] = [];
    const cover: number[] = [];
    const splitBins: number[] = [];
    const leaves: { node: number; start: number; end: number }[] = [];
    const lastSplits: { node: number; start: number; end: number }[] = [];
    const addNode = (h: number): number => {
      feature.push(-1);
      threshold.push(0);
      defaultLeft.push(false);
      left.push(-1);
      right.push(-1);
      value.push(0);
      gain.push(0);
      cover.push(h);
      splitBins.push(-2);
      return feature.length - 1;
    };
    // A node lighter than 2 × minChildWeight cannot have two children that both satisfy it.
    const canSplit = (depth: number, count: number, h: number): boolean =>
      depth < maxDepth && count >= 2 && h >= 2 * minChildWeight;

    let g0 = 0;
    let h0 = 0;
    const rows = this.rows;
    for (let k = 0; k < rowCount; k++) {
      const r = rows[k]!;
      g0 += grad[2 * r]!;
      h0 += grad[2 * r + 1]!;
    }
    const root = addNode(h0);
    let rootHist: Float64Array | null = null;
    if (canSplit(0, rowCount, h0)) {
      rootHist = this.takeHist(features);
      this.buildHist(rootHist, 0, rowCount, grad, features);
    }
    const open: OpenNode[] = [{ id: root, depth: 0, start: 0, end: rowCount, g: g0, h: h0, hist: rootHist }];
    const split = new SplitResult();

    // Breadth-first, so the tree grows level by level (depth-wise).
    for (let q = 0; q < open.length; q++) {
      const node = open[q]!;
      const hist = node.hist;
      if (hist === null || !this.findSplit(hist, node.g, node.h, features, split)) {
        if (hist !== null) this.histPool.push(hist);
        value[node.id] = Math.fround((-node.g / (node.h + lambda)) * learningRate);
        leaves.push({ node: node.id, start: node.start, end: node.end });
        continue;
      }
      const f = split.feature;
      const depth = node.depth + 1;
      const mid = depth < maxDepth ? this.partition(node.start, node.end, f, split.bin, split.defaultLeft) : -1;
      const gl = split.gl;
      const hl = split.hl;
      const gr = node.g - gl;
      const hr = node.h - hl;
      const l = addNode(hl);
      const r = addNode(hr);
      feature[node.id] = f;
      splitBins[node.id] = split.bin;
      threshold[node.id] = split.bin < 0 ? -Infinity : this.thresholds[f]![split.bin]!;
      defaultLeft[node.id] = split.defaultLeft;
      left[node.id] = l;
      right[node.id] = r;
      gain[node.id] = split.gain;

      if (depth >= maxDepth) {
        this.histPool.push(hist);
        value[l] = Math.fround((-gl / (hl + lambda)) * learningRate);
        value[r] = Math.fround((-gr / (hr + lambda)) * learningRate);
        lastSplits.push({ node: node.id, start: node.start, end: node.end });
        continue;
      }
      const nl = mid - node.start;
      const nr = node.end - mid;
      const needL = canSplit(depth, nl, hl);
      const needR = canSplit(depth, nr, hr);
      let histL: Float64Array | null = null;
      let histR: Float64Array | null = null;
      if (needL || needR) {
        const smallIsLeft = nl <= nr;
        const needSmall = smallIsLeft ? needL : needR;
        const needLarge = smallIsLeft ? needR : needL;
        const small = this.takeHist(features);
        if (smallIsLeft) this.buildHist(small, node.start, mid, grad, features);
        else this.buildHist(small, mid, node.end, grad, features);
        let large: Float64Array | null = null;
        if (needLarge) {
          this.subtractHist(hist, small, features);
          large = hist;
        } else {
          this.histPool.push(hist);
        }
        const smallKept = needSmall ? small : null;
        if (!needSmall) this.histPool.push(small);
        histL = smallIsLeft ? smallKept : large;
        histR = smallIsLeft ? large : smallKept;
      } else {
        this.histPool.push(hist);
      }
      open.push({ id: l, depth, start: node.start, end: mid, g: gl, h: hl, hist: histL });
      open.push({ id: r, depth, start: mid, end: node.end, g: gr, h: hr, hist: histR });
    }

    return {
      tree: { feature, threshold, defaultLeft, left, right, value, gain, cover },
      splitBin: Int32Array.from(splitBins),
      leaves,
      lastSplits,
    };
  }

  /** Adds the tree just grown to the raw scores of the rows it was grown on. */
  addToScores(grown: GrownTree, raw: Float64Array): void {
    const rows = this.rows;
    const { value, feature, left, right, defaultLeft } = grown.tree;
    for (const leaf of grown.leaves) {
      const v = value[leaf.node]!;
      for (let k = leaf.start; k < leaf.end; k++) raw[rows[k]!]! += v;
    }
    // Indexed by the direction (1 = left), so the update needs no data-dependent branch.
    const byDirection = this.byDirection;
    const goesLeft = this.goesLeft;
    const store = this.store;
    for (const split of grown.lastSplits) {
      const f = feature[split.node]!;
      this.directionTable(f, grown.splitBin[split.node]!, defaultLeft[split.node]!);
      byDirection[0] = value[right[split.node]!]!;
      byDirection[1] = value[left[split.node]!]!;
      const col = f * this.n;
      for (let k = split.start; k < split.end; k++) {
        const r = rows[k]!;
        raw[r]! += byDirection[goesLeft[store[col + r]!]!]!;
      }
    }
  }

  /** Fills `goesLeft[bin]` (1 = left) for a split of feature f. */
  private directionTable(f: number, splitBin: number, defaultLeft: boolean): void {
    const goesLeft = this.goesLeft;
    const missing = this.nBins[f]!;
    for (let b = 0; b < missing; b++) goesLeft[b] = b <= splitBin ? 1 : 0;
    goesLeft[missing] = defaultLeft ? 1 : 0;
  }

  private takeHist(features: Int32Array): Float64Array {
    const offset = this.offset;
    const hist = this.histPool.pop() ?? new Float64Array(this.histSize);
    for (let k = 0; k < features.length; k++) {
      const f = features[k]!;
      hist.fill(0, offset[f]!, offset[f + 1]!);
    }
    return hist;
  }

  private subtractHist(from: Float64Array, sub: Float64Array, features: Int32Array): void {
    const offset = this.offset;
    for (let k = 0; k < features.length; k++) {
      const f = features[k]!;
      const end = offset[f + 1]!;
      for (let i = offset[f]!; i < end; i++) from[i]! -= sub[i]!;
    }
  }

  /** Histogram of the node holding rows[start, end), over the active `features`. */
  private buildHist(hist: Float64Array, start: number, end: number, grad: Float64Array, features: Int32Array): void {
    const count = end - start;
    const columns = this.columns;
    let nColumns = 0;
    const useBundles = count >= JOINT_MIN_ROWS && this.bundles.length > 0;
    if (useBundles) {
      const nFeatures = this.active.length;
      for (let k = 0; k < features.length; k++) {
        const f = features[k]!;
        this.active[f] = 1;
        const b = this.bundleOf[f]!;
        if (b < 0) {
          columns[nColumns++] = f;
        } else if (this.bundleUsed[b] === 0) {
          this.bundleUsed[b] = 1;
          columns[nColumns++] = nFeatures + b;
          const bundle = this.bundles[b]!;
          hist.fill(0, bundle.histOffset, bundle.histOffset + 2 * bundle.cells);
        }
      }
    } else {
      columns.set(features);
      nColumns = features.length;
    }

    if (count === this.n) this.accumulateAllRows(hist, grad, nColumns);
    else this.accumulateRows(hist, start, count, grad, nColumns);

    if (useBundles) {
      for (let b = 0; b < this.bundles.length; b++) {
        if (this.bundleUsed[b] === 1) this.marginalise(hist, this.bundles[b]!);
        this.bundleUsed[b] = 0;
      }
      for (let k = 0; k < features.length; k++) this.active[features[k]!] = 0;
    }
  }

  /** Adds a joint histogram's cells into the histograms of its active members. */
  private marginalise(hist: Float64Array, bundle: Bundle): void {
    const { members, cells, histOffset, slotMap } = bundle;
    for (let i = 0; i < members.length; i++) {
      if (this.active[members[i]!] === 0) continue;
      const map = i * cells;
      for (let cell = 0; cell < cells; cell++) {
        const g = hist[histOffset + 2 * cell]!;
        const h = hist[histOffset + 2 * cell + 1]!;
        if (g === 0 && h === 0) continue;
        const slot = slotMap[map + cell]!;
        hist[slot]! += g;
        hist[slot + 1]! += h;
      }
    }
  }

  /**
   * Histogram passes over rows[start, start + count): eight columns per pass, then four, then one
   * at a time. The engine re-validates every typed array it touches once per loop iteration, so
   * the more columns share an iteration (and its row index and gradient loads) the cheaper each
   * read-modify-write gets. Several independent columns per row also hide the latency of
   * consecutive rows landing in the same bin, where each `hist[i] += g` waits for the store before.
   */
  private accumulateRows(hist: Float64Array, start: number, count: number, grad: Float64Array, nColumns: number): void {
    const rows = this.rows;
    const gh = this.gh;
    for (let k = 0; k < count; k++) {
      const r = rows[start + k]!;
      gh[2 * k] = grad[2 * r]!;
      gh[2 * k + 1] = grad[2 * r + 1]!;
    }
    let ci = 0;
    for (; ci + 8 <= nColumns; ci += 8) this.rowsPass8(hist, start, count, ci);
    for (; ci + 4 <= nColumns; ci += 4) this.rowsPass4(hist, start, count, ci);
    for (; ci < nColumns; ci++) this.rowsPass1(hist, start, count, ci);
  }

  private rowsPass8(hist: Float64Array, start: number, count: number, ci: number): void {
    const { rows, gh, store, columns, columnSlot, n } = this;
    const c0 = columns[ci]! * n;
    const c1 = columns[ci + 1]! * n;
    const c2 = columns[ci + 2]! * n;
    const c3 = columns[ci + 3]! * n;
    const c4 = columns[ci + 4]! * n;
    const c5 = columns[ci + 5]! * n;
    const c6 = columns[ci + 6]! * n;
    const c7 = columns[ci + 7]! * n;
    const o0 = columnSlot[columns[ci]!]!;
    const o1 = columnSlot[columns[ci + 1]!]!;
    const o2 = columnSlot[columns[ci + 2]!]!;
    const o3 = columnSlot[columns[ci + 3]!]!;
    const o4 = columnSlot[columns[ci + 4]!]!;
    const o5 = columnSlot[columns[ci + 5]!]!;
    const o6 = columnSlot[columns[ci + 6]!]!;
    const o7 = columnSlot[columns[ci + 7]!]!;
    for (let k = 0; k < count; k++) {
      const r = rows[start + k]!;
      const g = gh[2 * k]!;
      const h = gh[2 * k + 1]!;
      let i = o0 + 2 * store[c0 + r]!;
      hist[i]! += g;
      hist[i + 1]! += h;
      i = o1 + 2 * store[c1 + r]!;
      hist[i]! += g;
      hist[i + 1]! += h;
      i = o2 + 2 * store[c2 + r]!;
      hist[i]! += g;
      hist[i + 1]! += h;
      i = o3 + 2 * store[c3 + r]!;
      hist[i]! += g;
      hist[i + 1]! += h;
      i = o4 + 2 * store[c4 + r]!;
      hist[i]! += g;
      hist[i + 1]! += h;
      i = o5 + 2 * store[c5 + r]!;
      hist[i]! += g;
      hist[i + 1]! += h;
      i = o6 + 2 * store[c6 + r]!;
      hist[i]! += g;
      hist[i + 1]! += h;
      i = o7 + 2 * store[c7 + r]!;
      hist[i]! += g;
      hist[i + 1]! += h;
    }
  }

  private rowsPass4(hist: Float64Array, start: number, count: number, ci: number): void {
    const { rows, gh, store, columns, columnSlot, n } = this;
    const c0 = columns[ci]! * n;
    const c1 = columns[ci + 1]! * n;
    const c2 = columns[ci + 2]! * n;
    const c3 = columns[ci + 3]! * n;
    const o0 = columnSlot[columns[ci]!]!;
    const o1 = columnSlot[columns[ci + 1]!]!;
    const o2 = columnSlot[columns[ci + 2]!]!;
    const o3 = columnSlot[columns[ci + 3]!]!;
    for (let k = 0; k < count; k++) {
      const r = rows[start + k]!;
      const g = gh[2 * k]!;
      const h = gh[2 * k + 1]!;
      let i = o0 + 2 * store[c0 + r]!;
      hist[i]! += g;
      hist[i + 1]! += h;
      i = o1 + 2 * store[c1 + r]!;
      hist[i]! += g;
      hist[i + 1]! += h;
      i = o2 + 2 * store[c2 + r]!;
      hist[i]! += g;
      hist[i + 1]! += h;
      i = o3 + 2 * store[c3 + r]!;
      hist[i]! += g;
      hist[i + 1]! += h;
    }
  }

  private rowsPass1(hist: Float64Array, start: number, count: number, ci: number): void {
    const { rows, gh, store, columns, columnSlot, n } = this;
    const c0 = columns[ci]! * n;
    const o0 = columnSlot[columns[ci]!]!;
    for (let k = 0; k < count; k++) {
      const i = o0 + 2 * store[c0 + rows[start + k]!]!;
      hist[i]! += gh[2 * k]!;
      hist[i + 1]! += gh[2 * k + 1]!;
    }
  }

  /**
   * As `accumulateRows` for a node holding every row (a root without row sampling), the largest
   * pass of each tree: rows are 0..n−1 in order, so the row index and the gradient gather drop out.
   */
  private accumulateAllRows(hist: Float64Array, grad: Float64Array, nColumns: number): void {
    let ci = 0;
    for (; ci + 8 <= nColumns; ci += 8) this.allPass8(hist, grad, ci);
    for (; ci + 4 <= nColumns; ci += 4) this.allPass4(hist, grad, ci);
    for (; ci < nColumns; ci++) this.allPass1(hist, grad, ci);
  }

  private allPass8(hist: Float64Array, grad: Float64Array, ci: number): void {
    const { store, columns, columnSlot, n } = this;
    const c0 = columns[ci]! * n;
    const c1 = columns[ci + 1]! * n;
    const c2 = columns[ci + 2]! * n;
    const c3 = columns[ci + 3]! * n;
    const c4 = columns[ci + 4]! * n;
    const c5 = columns[ci + 5]! * n;
    const c6 = columns[ci + 6]! * n;
    const c7 = columns[ci + 7]! * n;
    const o0 = columnSlot[columns[ci]!]!;
    const o1 = columnSlot[columns[ci + 1]!]!;
    const o2 = columnSlot[columns[ci + 2]!]!;
    const o3 = columnSlot[columns[ci + 3]!]!;
    const o4 = columnSlot[columns[ci + 4]!]!;
    const o5 = columnSlot[columns[ci + 5]!]!;
    const o6 = columnSlot[columns[ci + 6]!]!;
    const o7 = columnSlot[columns[ci + 7]!]!;
    for (let r = 0; r < n; r++) {
      const g = grad[2 * r]!;
      const h = grad[2 * r + 1]!;
      let i = o0 + 2 * store[c0 + r]!;
      hist[i]! += g;
      hist[i + 1]! += h;
      i = o1 + 2 * store[c1 + r]!;
      hist[i]! += g;
      hist[i + 1]! += h;
      i = o2 + 2 * store[c2 + r]!;
      hist[i]! += g;
      hist[i + 1]! += h;
      i = o3 + 2 * store[c3 + r]!;
      hist[i]! += g;
      hist[i + 1]! += h;
      i = o4 + 2 * store[c4 + r]!;
      hist[i]! += g;
      hist[i + 1]! += h;
      i = o5 + 2 * store[c5 + r]!;
      hist[i]! += g;
      hist[i + 1]! += h;
      i = o6 + 2 * store[c6 + r]!;
      hist[i]! += g;
      hist[i + 1]! += h;
      i = o7 + 2 * store[c7 + r]!;
      hist[i]! += g;
      hist[i + 1]! += h;
    }
  }

  private allPass4(hist: Float64Array, grad: Float64Array, ci: number): void {
    const { store, columns, columnSlot, n } = this;
    const c0 = columns[ci]! * n;
    const c1 = columns[ci + 1]! * n;
    const c2 = columns[ci + 2]! * n;
    const c3 = columns[ci + 3]! * n;
    const o0 = columnSlot[columns[ci]!]!;
    const o1 = columnSlot[columns[ci + 1]!]!;
    const o2 = columnSlot[columns[ci + 2]!]!;
    const o3 = columnSlot[columns[ci + 3]!]!;
    for (let r = 0; r < n; r++) {
      const g = grad[2 * r]!;
      const h = grad[2 * r + 1]!;
      let i = o0 + 2 * store[c0 + r]!;
      hist[i]! += g;
      hist[i + 1]! += h;
      i = o1 + 2 * store[c1 + r]!;
      hist[i]! += g;
      hist[i + 1]! += h;
      i = o2 + 2 * store[c2 + r]!;
      hist[i]! += g;
      hist[i + 1]! += h;
      i = o3 + 2 * store[c3 + r]!;
      hist[i]! += g;
      hist[i + 1]! += h;
    }
  }

  private allPass1(hist: Float64Array, grad: Float64Array, ci: number): void {
    const { store, columns, columnSlot, n } = this;
    const c0 = columns[ci]! * n;
    const o0 = columnSlot[columns[ci]!]!;
    for (let r = 0; r < n; r++) {
      const i = o0 + 2 * store[c0 + r]!;
      hist[i]! += grad[2 * r]!;
      hist[i + 1]! += grad[2 * r + 1]!;
    }
  }

  /**
   * Best split of a node over `features`, written into `out`; false when nothing beats
   * max(gamma, MIN_GAIN) under the min-child-weight constraint. NaNs are tried on both sides of
   * every cut (when the node has any), which is how the default direction is learned; a node
   * without NaNs sends them to its heavier child, the likelier home of an unseen value.
   *
   * The scan runs over every bin of every feature of every node, so it avoids divisions: with
   * dl = H_L + λ and dr = H_R + λ (both positive), gain > best ⟺
   * G_L²·dr + G_R²·dl − parent·dl·dr > best·dl·dr; the gain itself is computed only on improvement.
   */
  private findSplit(hist: Float64Array, g: number, h: number, features: Int32Array, out: SplitResult): boolean {
    const { lambda, minChildWeight, gamma } = this.params;
    const parent = (g * g) / (h + lambda);
    let best = Math.max(gamma, MIN_GAIN);
    let found = false;
    for (let fi = 0; fi < features.length; fi++) {
      const f = features[fi]!;
      const base = this.offset[f]!;
      const nb = this.nBins[f]!;
      const gm = hist[base + 2 * nb]!;
      const hm = hist[base + 2 * nb + 1]!;
      const hasMissing = hm > 0;
      if (hasMissing && hm >= minChildWeight && h - hm >= minChildWeight) {
        // Cut −1: NaNs left, every value right.
        const gain = (gm * gm) / (hm + lambda) + ((g - gm) * (g - gm)) / (h - hm + lambda) - parent;
        if (gain > best) {
          best = gain;
          found = true;
          out.set(f, -1, true, gain, gm, hm);
        }
      }
      let gl = 0;
      let hl = 0;
      const end = base + 2 * (nb - 1);
      if (!hasMissing) {
        // The common case gets its own loop: no NaN branch, and since H_R only shrinks as the cut
        // moves right, the scan stops at the first cut whose right child is too light.
        for (let i = base; i < end; i += 2) {
          const hb = hist[i + 1]!;
          // An empty bin gives the same partition as the cut before it.
          if (hb === 0) continue;
          gl += hist[i]!;
          hl += hb;
          if (hl < minChildWeight) continue;
          const hr = h - hl;
          if (hr < minChildWeight) break;
          const gr = g - gl;
          const dl = hl + lambda;
          const dr = hr + lambda;
          const dd = dl * dr;
          if (gl * gl * dr + gr * gr * dl - parent * dd > best * dd) {
            best = (gl * gl) / dl + (gr * gr) / dr - parent;
            found = true;
            out.set(f, (i - base) >> 1, false, best, gl, hl);
          }
        }
      } else {
        for (let i = base; i < end; i += 2) {
          const gb = hist[i]!;
          const hb = hist[i + 1]!;
          if (hb === 0 && gb === 0) continue;
          gl += gb;
          hl += hb;
          const hr = h - hl;
          if (hl >= minChildWeight && hr >= minChildWeight) {
            const gr = g - gl;
            const dl = hl + lambda;
            const dr = hr + lambda;
            const dd = dl * dr;
            if (gl * gl * dr + gr * gr * dl - parent * dd > best * dd) {
              best = (gl * gl) / dl + (gr * gr) / dr - parent;
              found = true;
              out.set(f, (i - base) >> 1, false, best, gl, hl);
            }
          }
          const hl2 = hl + hm;
          const hr2 = h - hl2;
          if (hl2 >= minChildWeight && hr2 >= minChildWeight) {
            const gl2 = gl + gm;
            const gr2 = g - gl2;
            const dl = hl2 + lambda;
            const dr = hr2 + lambda;
            const dd = dl * dr;
            if (gl2 * gl2 * dr + gr2 * gr2 * dl - parent * dd > best * dd) {
              best = (gl2 * gl2) / dl + (gr2 * gr2) / dr - parent;
              found = true;
              out.set(f, (i - base) >> 1, true, best, gl2, hl2);
            }
          }
        }
      }
      if (found && out.feature === f && !hasMissing) out.defaultLeft = out.hl >= h - out.hl;
    }
    return found;
  }

  /**
   * Stable partition of rows[start, end): left rows first; returns where the right rows begin.
   * Branch-free through a per-bin direction table: the direction of a row is data-dependent and
   * unpredictable, and a mispredicted branch per row cost more than the rest of the loop.
   */
  private partition(start: number, end: number, f: number, splitBin: number, defaultLeft: boolean): number {
    const buffer = this.rowBuffer;
    const store = this.store;
    const n = this.n;
    const col = f * n;
    const goesLeft = this.goesLeft;
    this.directionTable(f, splitBin, defaultLeft);
    let l = start;
    let s = n;
    // Writing buffer[l] in place is safe: l <= k, so no unread entry is overwritten.
    for (let k = start; k < end; k++) {
      const r = buffer[k]!;
      const c = goesLeft[store[col + r]!]!;
      buffer[l] = r;
      buffer[s] = r;
      l += c;
      s += 1 - c;
    }
    buffer.copyWithin(l, n, s);
    return l;
  }
}

/**
 * Groups low-cardinality features into joint columns of at most JOINT_MAX_CELLS cells (bin
 * counts including NaN's bin multiply). Largest first, each filled up with the smallest remaining
 * features, which packs a mid-sized feature with a flag or two and small codes with each other.
 */
function planBundles(nBins: Int32Array): number[][] {
  const radix = (f: number): number => nBins[f]! + 1;
  const candidates = Array.from(nBins.keys())
    .filter((f) => radix(f) * 2 <= JOINT_MAX_CELLS)
    .sort((a, b) => radix(a) - radix(b) || a - b);
  const groups: number[][] = [];
  while (candidates.length > 1) {
    const group = [candidates.pop()!];
    let cells = radix(group[0]!);
    while (candidates.length > 0 && cells * radix(candidates[0]!) <= JOINT_MAX_CELLS) {
      const f = candidates.shift()!;
      group.push(f);
      cells *= radix(f);
    }
    if (group.length > 1) groups.push(group.sort((a, b) => a - b));
  }
  return groups;
}

class SplitResult {
  feature = -1;
  bin = -1;
  defaultLeft = false;
  gain = 0;
  gl = 0;
  hl = 0;
  set(feature: number, bin: number, defaultLeft: boolean, gain: number, gl: number, hl: number): void {
    this.feature = feature;
    this.bin = bin;
    this.defaultLeft = defaultLeft;
    this.gain = gain;
    this.gl = gl;
    this.hl = hl;
  }
}

/**
 * Adds a grown tree's output to the raw scores of rows given as bins (column-major, `n` rows):
 * `rows === null` means rows 0..count−1, otherwise the listed rows.
 */
export function accumulateBinned(
  grown: GrownTree,
  binned: Uint8Array,
  nBins: Int32Array,
  n: number,
  rows: Int32Array | null,
  count: number,
  raw: Float64Array,
): void {
  const { feature, left, right, value, defaultLeft } = grown.tree;
  const splitBin = grown.splitBin;
  for (let k = 0; k < count; k++) {
    const r = rows === null ? k : rows[k]!;
    let node = 0;
    let f = feature[0]!;
    while (f >= 0) {
      const b = binned[f * n + r]!;
      node = (b === nBins[f] ? defaultLeft[node]! : b <= splitBin[node]!) ? left[node]! : right[node]!;
      f = feature[node]!;
    }
    raw[r]! += value[node]!;
  }
}
