import type { Dataset } from '../matrix.js';
import { rocAuc } from '../metrics/ranking.js';
import { binCount, binMatrix, binTrainingMatrix } from './binning.js';
import { accumulateBinned, TreeGrower } from './grower.js';
import { GbdtModel, type IterationInfo } from './model.js';
import { resolveGbdtParams, type GbdtObjective, type GbdtParams } from './params.js';
import { createPrng } from './prng.js';
import type { GbdtTree } from './tree.js';

export interface TrainGbdtOptions {
  /** Held-out rows scored after every round; needed for `validLoss` and early stopping. */
  readonly validation?: Dataset;
  /** Called after every round with that round's losses. */
  readonly onIteration?: (it: IterationInfo) => void;
  /**
   * Also record train/validation AUC per round (binary only). Off by default: an exact AUC sorts
   * all rows every round, which costs more than growing a tree.
   */
  readonly trackAuc?: boolean;
  /** Checked before every round: training stops by throwing the signal's reason (a job's timeout or cancel). */
  readonly signal?: AbortSignal;
}

/**
 * Gradient-boosted trees: histogram-based, depth-wise, second-order (XGBoost-style) splits.
 * Bins are computed once from the training rows; each round samples rows and features, grows one
 * tree on the current gradients and adds it to the raw scores.
 */
export function trainGbdt(train: Dataset, params: Partial<GbdtParams> = {}, opts: TrainGbdtOptions = {}): GbdtModel {
  const p = resolveGbdtParams(params);
  const { X, y } = train;
  const n = X.rows;
  const nFeatures = X.cols;
  if (n === 0) throw new RangeError('training set has no rows');
  if (y.length !== n) throw new RangeError(`training set has ${n} rows but ${y.length} labels`);
  if (train.featureNames.length !== nFeatures) {
    throw new RangeError(`training set has ${nFeatures} columns but ${train.featureNames.length} feature names`);
  }
  checkLabels(y, p.objective, 'training');
  const valid = opts.validation;
  if (valid) {
    if (valid.X.cols !== nFeatures) throw new RangeError(`validation set has ${valid.X.cols} columns, training set ${nFeatures}`);
    if (valid.X.rows === 0) throw new RangeError('validation set has no rows');
    if (valid.y.length !== valid.X.rows) throw new RangeError(`validation set has ${valid.X.rows} rows but ${valid.y.length} labels`);
    checkLabels(valid.y, p.objective, 'validation');
  }
  const trackAuc = opts.trackAuc === true && p.objective === 'binary';

  const { bins, binned } = binTrainingMatrix(X, p.maxBins);
  const nBins = Int32Array.from(bins, binCount);
  const validBinned = valid ? binMatrix(valid.X, bins) : null;
  const nValid = valid ? valid.X.rows : 0;

  const baseScore = initialScore(y, p.objective);
  const raw = new Float64Array(n).fill(baseScore);
  const validRaw = new Float64Array(nValid).fill(baseScore);
  // Gradient and hessian of every row, interleaved: grad[2i], grad[2i + 1].
  const grad = new Float64Array(2 * n);
  const grower = new TreeGrower(n, binned, nBins, bins.map((b) => b.thresholds), p);
  const prng = createPrng(p.seed);
  const inSample = new Uint8Array(n);
  const outOfSample = new Int32Array(n);
  const featureOrder = Int32Array.from({ length: nFeatures }, (_, i) => i);
  const nTreeFeatures = Math.max(1, Math.round(p.colsampleByTree * nFeatures));

  const trees: GbdtTree[] = [];
  const history: IterationInfo[] = [];
  let bestIteration = -1;
  let bestLoss = Infinity;
  computeGradients(p.objective, raw, y, grad);

  for (let it = 0; it < p.nTrees; it++) {
    opts.signal?.throwIfAborted();
    const rowCount = sampleRows(grower.rows, inSample, n, p.subsample, prng);
    const features = sampleFeatures(featureOrder, nTreeFeatures, prng);
    const grown = grower.grow(grad, rowCount, features);
    trees.push(grown.tree);

    // The grower knows where the rows it grew the tree on ended up; the others are routed.
    grower.addToScores(grown, raw);
    if (rowCount < n) {
      let m = 0;
      for (let i = 0; i < n; i++) if (inSample[i] === 0) outOfSample[m++] = i;
      accumulateBinned(grown, binned, nBins, n, outOfSample, m, raw);
    }

    const trainLoss = computeGradients(p.objective, raw, y, grad);
    const info: { -readonly [K in keyof IterationInfo]: IterationInfo[K] } = { iteration: it, trainLoss };
    if (trackAuc) info.trainAuc = rocAuc(y, raw);
    if (valid && validBinned) {
      accumulateBinned(grown, validBinned, nBins, nValid, null, nValid, validRaw);
      info.validLoss = meanLoss(p.objective, validRaw, valid.y);
      if (trackAuc) info.validAuc = rocAuc(valid.y, validRaw);
    }
    history.push(info);
    opts.onIteration?.(info);

    if (info.validLoss !== undefined) {
      if (info.validLoss < bestLoss) {
        bestLoss = info.validLoss;
        bestIteration = it;
      } else if (p.earlyStoppingRounds > 0 && it - bestIteration >= p.earlyStoppingRounds) {
        break;
      }
    }
  }

  // Without early stopping every tree is kept, so the last round is the model's round.
  const keep = valid && p.earlyStoppingRounds > 0 ? bestIteration + 1 : trees.length;
  const kept = trees.slice(0, keep);
  return new GbdtModel({
    objective: p.objective,
    featureNames: [...train.featureNames],
    params: p,
    trees: kept,
    baseScore,
    history,
    bestIteration: keep - 1,
  });
}

function checkLabels(y: Float64Array, objective: GbdtObjective, what: string): void {
  for (let i = 0; i < y.length; i++) {
    const v = y[i]!;
    if (objective === 'binary' ? v !== 0 && v !== 1 : !Number.isFinite(v)) {
      throw new RangeError(`${what} label at row ${i} is ${v}; objective '${objective}' needs ${objective === 'binary' ? '0 or 1' : 'finite numbers'}`);
    }
  }
}

/** Log-odds of the positive rate (binary) or the mean (regression), rounded to float32 like every stored value. */
function initialScore(y: Float64Array, objective: GbdtObjective): number {
  let sum = 0;
  for (let i = 0; i < y.length; i++) sum += y[i]!;
  const mean = sum / y.length;
  if (objective === 'regression') return Math.fround(mean);
  // A one-class training set would give ±Infinity; clamp so the model stays finite and exportable.
  const m = Math.min(Math.max(mean, 1e-6), 1 - 1e-6);
  return Math.fround(Math.log(m / (1 - m)));
}

/**
 * Gradients and hessians of the loss at `raw` (interleaved into `grad`), returning the mean loss
 * there (log loss or squared error) from the same pass. The hessian floor keeps leaf values finite
 * when probabilities saturate.
 *
 * Log loss is −Σ log q with q the probability given to the true label. Calling Math.log per row
 * would double the cost of this pass (it runs once per tree over all rows), so the q's are
 * multiplied together and the product's log is taken only when it nears underflow; the relative
 * error of a product of n factors is about n·2⁻⁵³, far below what a loss is reported with.
 */
function computeGradients(objective: GbdtObjective, raw: Float64Array, y: Float64Array, grad: Float64Array): number {
  const n = raw.length;
  if (objective === 'regression') {
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const d = raw[i]! - y[i]!;
      grad[2 * i] = d;
      grad[2 * i + 1] = 1;
      loss += d * d;
    }
    return loss / n;
  }
  let logSum = 0;
  let product = 1;
  for (let i = 0; i < n; i++) {
    const r = raw[i]!;
    // p = σ(r) and q = 1 − p = e·p, both without cancellation. No branch on the sign of r
    // (unpredictable, and this loop is short); the clamp only keeps e finite.
    const e = Math.exp(r > -700 ? -r : 700);
    const p = 1 / (1 + e);
    const q = e * p;
    const t = y[i]!;
    grad[2 * i] = p - t;
    const h = p * q;
    grad[2 * i + 1] = h > 1e-16 ? h : 1e-16;
    // Exactly p or q, since t is 0 or 1.
    const pTrue = t * p + (1 - t) * q;
    if (pTrue > 1e-200) {
      product *= pTrue;
      if (product < 1e-100) {
        logSum += Math.log(product);
        product = 1;
      }
    } else {
      // σ underflows here: log loss = softplus(r) − t·r, which is ≈ |r| for a confident mistake.
      logSum -= (r > 0 ? r : 0) + Math.log1p(Math.exp(-Math.abs(r))) - t * r;
    }
  }
  logSum += Math.log(product);
  return -logSum / n;
}

function meanLoss(objective: GbdtObjective, raw: Float64Array, y: Float64Array): number {
  const n = raw.length;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const r = raw[i]!;
    if (objective === 'binary') loss += (r > 0 ? r : 0) + Math.log1p(Math.exp(-Math.abs(r))) - y[i]! * r;
    else loss += (r - y[i]!) * (r - y[i]!);
  }
  return loss / n;
}

/** Fills `rows` with the sampled row indices in ascending order; returns how many. */
function sampleRows(rows: Int32Array, inSample: Uint8Array, n: number, subsample: number, prng: ReturnType<typeof createPrng>): number {
  let m = 0;
  if (subsample >= 1) {
    for (let i = 0; i < n; i++) rows[i] = i;
    inSample.fill(1);
    return n;
  }
  for (let i = 0; i < n; i++) {
    const take = prng.next() < subsample;
    inSample[i] = take ? 1 : 0;
    if (take) rows[m++] = i;
  }
  // A tree needs at least one row; an empty draw (tiny data, tiny fraction) falls back to one row.
  if (m === 0) {
    const i = prng.nextInt(n);
    rows[m++] = i;
    inSample[i] = 1;
  }
  return m;
}

/** The first `k` entries of a partial Fisher–Yates shuffle, sorted so split ties break by feature index. */
function sampleFeatures(order: Int32Array, k: number, prng: ReturnType<typeof createPrng>): Int32Array {
  if (k >= order.length) return order.slice().sort();
  for (let i = 0; i < k; i++) {
    const j = i + prng.nextInt(order.length - i);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order.slice(0, k).sort();
}
