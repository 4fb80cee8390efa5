import type { Matrix } from '../matrix.js';
import { resolveGbdtParams, type GbdtObjective, type GbdtParams } from './params.js';
import { accumulateTrees, checkTree, type GbdtTree } from './tree.js';

/** Losses after one boosting round (`iteration` is 0-based: the model with iteration + 1 trees). */
export interface IterationInfo {
  readonly iteration: number;
  /** Mean log loss (binary) or mean squared error (regression) on the training rows. */
  readonly trainLoss: number;
  readonly validLoss?: number;
  readonly trainAuc?: number;
  readonly validAuc?: number;
}

export interface FeatureGain {
  readonly feature: string;
  /** Total loss reduction of all splits on the feature, over all trees. */
  readonly gain: number;
}

/** The plain-JSON form of a model (`JSON.stringify(model)` produces it). */
export interface GbdtModelJson {
  readonly format: typeof GBDT_FORMAT;
  readonly version: 1;
  readonly objective: GbdtObjective;
  readonly featureNames: readonly string[];
  readonly params: GbdtParams;
  readonly baseScore: number;
  readonly bestIteration: number;
  /** Thresholds of −Infinity ("every value right, NaN left") are written as null: JSON has no infinities. */
  readonly trees: readonly JsonTree[];
  readonly history: readonly IterationInfo[];
}

type JsonTree = Omit<GbdtTree, 'threshold'> & { readonly threshold: readonly (number | null)[] };

export const GBDT_FORMAT = 'contender.gbdt';

export interface GbdtModelInit {
  readonly objective: GbdtObjective;
  readonly featureNames: readonly string[];
  readonly params: GbdtParams;
  readonly trees: readonly GbdtTree[];
  readonly baseScore: number;
  readonly history: readonly IterationInfo[];
  readonly bestIteration: number;
}

export class GbdtModel {
  readonly kind = 'gbdt' as const;
  readonly objective: GbdtObjective;
  readonly featureNames: readonly string[];
  readonly params: GbdtParams;
  readonly trees: readonly GbdtTree[];
  /** Raw score before any tree: log-odds (binary) or mean (regression), a float32 value. */
  readonly baseScore: number;
  readonly history: readonly IterationInfo[];
  /** 0-based round of the last kept tree (trees.length − 1). */
  readonly bestIteration: number;

  constructor(init: GbdtModelInit) {
    this.objective = init.objective;
    this.featureNames = init.featureNames;
    this.params = init.params;
    this.trees = init.trees;
    this.baseScore = init.baseScore;
    this.history = init.history;
    this.bestIteration = init.bestIteration;
  }

  /** Sum of tree outputs plus the base score: log-odds for `binary`, the prediction for `regression`. */
  predictRaw(X: Matrix): Float64Array {
    if (X.cols !== this.featureNames.length) {
      throw new RangeError(`model expects ${this.featureNames.length} features, matrix has ${X.cols} columns`);
    }
    const out = new Float64Array(X.rows).fill(this.baseScore);
    accumulateTrees(this.trees, X, out);
    return out;
  }

  /** Probabilities of class 1 (binary) or predicted values (regression). */
  predict(X: Matrix): Float64Array {
    const raw = this.predictRaw(X);
    if (this.objective === 'binary') for (let i = 0; i < raw.length; i++) raw[i] = 1 / (1 + Math.exp(-raw[i]!));
    return raw;
  }

  /** Total split gain per feature, largest first (features never split on come last with 0). */
  featureImportance(): FeatureGain[] {
    const gain = new Float64Array(this.featureNames.length);
    for (const t of this.trees) {
      for (let i = 0; i < t.feature.length; i++) if (t.feature[i]! >= 0) gain[t.feature[i]!]! += t.gain[i]!;
    }
    return this.featureNames
      .map((feature, i) => ({ feature, gain: gain[i]!, i }))
      .sort((a, b) => b.gain - a.gain || a.i - b.i)
      .map(({ feature, gain: g }) => ({ feature, gain: g }));
  }

  toJSON(): GbdtModelJson {
    return {
      format: GBDT_FORMAT,
      version: 1,
      objective: this.objective,
      featureNames: this.featureNames,
      params: this.params,
      baseScore: this.baseScore,
      bestIteration: this.bestIteration,
      trees: this.trees.map((t) => ({ ...t, threshold: t.threshold.map((v) => (v === -Infinity ? null : v)) })),
      history: this.history,
    };
  }

  /** Reads the output of `toJSON` (parsed), checking its structure. */
  static fromJSON(json: unknown): GbdtModel {
    const j = json as Partial<GbdtModelJson> | null;
    if (!j || typeof j !== 'object' || j.format !== GBDT_FORMAT || j.version !== 1) {
      throw new Error(`not a ${GBDT_FORMAT} v1 model`);
    }
    if (!Array.isArray(j.featureNames) || !j.featureNames.every((f) => typeof f === 'string')) throw new Error('featureNames must be strings');
    if (!Array.isArray(j.trees) || j.trees.length === 0) throw new Error('a model needs at least one tree');
    if (typeof j.baseScore !== 'number' || !Number.isFinite(j.baseScore)) throw new Error('baseScore must be a finite number');
    const params = resolveGbdtParams(j.params ?? {});
    if (j.objective !== params.objective) throw new Error(`objective ${String(j.objective)} disagrees with params.objective ${params.objective}`);
    const trees = j.trees.map((t, k): GbdtTree => {
      const thresholds: readonly (number | null)[] | undefined = t.threshold;
      const tree = { ...t, threshold: Array.isArray(thresholds) ? thresholds.map((v) => (v === null ? -Infinity : v)) : thresholds } as GbdtTree;
      checkTree(tree, j.featureNames!.length, `tree ${k}`);
      return tree;
    });
    return new GbdtModel({
      objective: params.objective,
      featureNames: j.featureNames,
      params,
      trees,
      baseScore: j.baseScore,
      history: Array.isArray(j.history) ? j.history : [],
      bestIteration: trees.length - 1,
    });
  }
}
