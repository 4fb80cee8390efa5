import type { Matrix } from '../matrix.js';

/**
 * One regression tree as parallel arrays (plain JSON). Node 0 is the root; a node with
 * `feature[i] === -1` is a leaf. An internal node sends a row left when
 * `fround(x[feature]) < threshold`, and a NaN to the left when `defaultLeft` is set — the same rule
 * as the ONNX `BRANCH_LT` node with `nodes_missing_value_tracks_true` it is exported to.
 */
export interface GbdtTree {
  readonly feature: readonly number[];
  /** float32 values, so that the exported float32 threshold is exactly the one trained. */
  readonly threshold: readonly number[];
  readonly defaultLeft: readonly boolean[];
  readonly left: readonly number[];
  readonly right: readonly number[];
  /** Leaf outputs with the learning rate applied, float32 for the same reason; 0 on internal nodes. */
  readonly value: readonly number[];
  /** Loss reduction of each split; 0 on leaves. */
  readonly gain: readonly number[];
  /** Hessian sum of the training rows that reached the node. */
  readonly cover: readonly number[];
}

/** A tree's arrays as typed arrays, built once per tree: prediction loops over them many times. */
interface CompiledTree {
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly defaultLeft: Uint8Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly value: Float64Array;
}

const compiled = new WeakMap<GbdtTree, CompiledTree>();

function compile(tree: GbdtTree): CompiledTree {
  let c = compiled.get(tree);
  if (!c) {
    c = {
      feature: Int32Array.from(tree.feature),
      threshold: Float64Array.from(tree.threshold),
      defaultLeft: Uint8Array.from(tree.defaultLeft, (d) => (d ? 1 : 0)),
      left: Int32Array.from(tree.left),
      right: Int32Array.from(tree.right),
      value: Float64Array.from(tree.value),
    };
    compiled.set(tree, c);
  }
  return c;
}

/**
 * Adds each tree's output to `out` (raw scores, one per row). The input is rounded to float32
 * before every comparison, exactly what an ONNX runtime sees for a float32 input tensor.
 */
export function accumulateTrees(trees: readonly GbdtTree[], X: Matrix, out: Float64Array): void {
  const { rows, cols, data } = X;
  for (const tree of trees) {
    const { feature, threshold, defaultLeft, left, right, value } = compile(tree);
    for (let i = 0; i < rows; i++) {
      const base = i * cols;
      let node = 0;
      let f = feature[0]!;
      while (f >= 0) {
        const x = Math.fround(data[base + f]!);
        node = x < threshold[node]! || (x !== x && defaultLeft[node] === 1) ? left[node]! : right[node]!;
        f = feature[node]!;
      }
      out[i]! += value[node]!;
    }
  }
}

/** Structural checks for trees read from JSON, so a corrupt file fails here and not mid-prediction. */
export function checkTree(tree: GbdtTree, nFeatures: number, where: string): void {
  const n = tree.feature.length;
  const arrays = ['threshold', 'defaultLeft', 'left', 'right', 'value', 'gain', 'cover'] as const;
  for (const key of arrays) {
    if (!Array.isArray(tree[key]) || tree[key].length !== n) throw new Error(`${where}: ${key} must be an array of ${n} entries`);
  }
  if (n === 0) throw new Error(`${where}: a tree needs at least one node`);
  for (let i = 0; i < n; i++) {
    const f = tree.feature[i]!;
    if (f === -1) {
      if (!Number.isFinite(tree.value[i])) throw new Error(`${where}: leaf ${i} has no finite value`);
      continue;
    }
    if (!Number.isInteger(f) || f < 0 || f >= nFeatures) throw new Error(`${where}: node ${i} splits on unknown feature ${f}`);
    const l = tree.left[i]!;
    const r = tree.right[i]!;
    // Children after their parent rules out cycles, so prediction always terminates.
    if (!Number.isInteger(l) || !Number.isInteger(r) || l <= i || r <= i || l >= n || r >= n) {
      throw new Error(`${where}: node ${i} has invalid children ${l}, ${r}`);
    }
    if (Number.isNaN(tree.threshold[i])) throw new Error(`${where}: node ${i} has a NaN threshold`);
  }
}
