import assert from 'node:assert/strict';
import { TAIWAN_CREDIT_CSV } from '@contender/fixtures';
import { describe, it } from 'node:test';
import { loadCsvDataset } from '../data/load.js';
import { stratifiedSplit } from '../data/split.js';
import { matrix, takeRows, type Dataset } from '../matrix.js';
import { rocAuc } from '../metrics/ranking.js';
import { binOf, computeBins } from './binning.js';
import { GbdtModel } from './model.js';
import { DEFAULT_GBDT_PARAMS } from './params.js';
import { createPrng } from './prng.js';
import { trainGbdt } from './train.js';

/** y = 1 with probability σ(2·x0 − x1 + noise); x2 is pure noise; `missing` of x0 is NaN. */
function synthetic(n: number, seed: number, missing = 0): Dataset {
  const rnd = createPrng(seed);
  const data = new Float64Array(n * 3);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x0 = rnd.next() * 4 - 2;
    const x1 = rnd.next() * 4 - 2;
    data[i * 3] = rnd.next() < missing ? NaN : x0;
    data[i * 3 + 1] = x1;
    data[i * 3 + 2] = rnd.next();
    y[i] = rnd.next() < 1 / (1 + Math.exp(-(2 * x0 - x1))) ? 1 : 0;
  }
  return { featureNames: ['x0', 'x1', 'noise'], X: matrix(n, 3, data), y };
}

describe('binning', () => {
  it('puts a value in bin b or lower exactly when its float32 is below threshold b', () => {
    const rnd = createPrng(3);
    const n = 5000;
    const data = Float64Array.from({ length: n }, () => Math.exp(rnd.next() * 20 - 10));
    const [bins] = computeBins(matrix(n, 1, data), 255);
    const t = bins!.thresholds;
    assert.ok(t.length > 100 && t.length <= 254);
    for (let i = 0; i < t.length; i++) assert.equal(Math.fround(t[i]!), t[i]);
    for (let k = 0; k < 2000; k++) {
      const x = data[k]! * (1 + (rnd.next() - 0.5) * 1e-7);
      const b = binOf(x, t);
      for (let s = 0; s < t.length; s++) assert.equal(b <= s, Math.fround(x) < t[s]!);
    }
  });

  it('gives every distinct value its own bin when there are few, and NaN the bin after them', () => {
    const [bins] = computeBins(matrix(6, 1, Float64Array.from([3, 1, 2, 2, NaN, 1])), 255);
    assert.deepEqual(Array.from(bins!.thresholds), [1.5, 2.5]);
    assert.deepEqual([1, 2, 3, NaN, 0, 10].map((v) => binOf(v, bins!.thresholds)), [0, 1, 2, 3, 0, 2]);
  });
});

describe('trainGbdt', () => {
  it('stops with the signal\'s reason when the signal is aborted between rounds', () => {
    const n = 100;
    const x = Float64Array.from({ length: n }, (_, i) => i / n);
    const y = Float64Array.from(x, (v) => (v < 0.5 ? 0 : 1));
    const controller = new AbortController();
    let rounds = 0;
    assert.throws(
      () =>
        trainGbdt({ featureNames: ['x'], X: matrix(n, 1, x), y }, { nTrees: 50 }, {
          signal: controller.signal,
          onIteration: () => {
            if (++rounds === 3) controller.abort(new Error('step timed out'));
          },
        }),
      /step timed out/,
    );
    assert.equal(rounds, 3);
  });

  it('learns a single split between the two levels of a step function', () => {
    const n = 200;
    const x = Float64Array.from({ length: n }, (_, i) => i / n);
    const y = Float64Array.from(x, (v) => (v < 0.5 ? 0 : 10));
    const model = trainGbdt(
      { featureNames: ['x'], X: matrix(n, 1, x), y },
      { objective: 'regression', nTrees: 1, maxDepth: 1, learningRate: 1, lambda: 0, minChildWeight: 0, subsample: 1, colsampleByTree: 1 },
    );
    const [tree] = model.trees;
    assert.equal(model.baseScore, 5);
    assert.deepEqual(tree!.feature, [0, -1, -1]);
    // Midway between the last value of the low step (0.495) and the first of the high one (0.5).
    assert.equal(tree!.threshold[0], Math.fround(0.4975));
    assert.deepEqual(tree!.value, [0, -5, 5]);
    assert.deepEqual(Array.from(model.predict(matrix(4, 1, Float64Array.from([0, 0.497, 0.498, 1])))), [0, 0, 10, 10]);
  });

  it('sends missing values down the side whose rows they resemble', () => {
    for (const nanLabel of [0, 1]) {
      const n = 400;
      const x = Float64Array.from({ length: n }, (_, i) => (i % 4 === 0 ? NaN : (i % 100) / 100));
      const y = Float64Array.from(x, (v) => (Number.isNaN(v) ? nanLabel : v < 0.5 ? 0 : 1));
      const model = trainGbdt({ featureNames: ['x'], X: matrix(n, 1, x), y }, { nTrees: 1, maxDepth: 1, learningRate: 1, minChildWeight: 0, subsample: 1, colsampleByTree: 1 });
      const tree = model.trees[0]!;
      assert.equal(tree.defaultLeft[0], nanLabel === 0, `NaN rows labelled ${nanLabel} belong with the ${nanLabel ? 'right' : 'left'} child`);
      const [pNan, pLow, pHigh] = model.predict(matrix(3, 1, Float64Array.from([NaN, 0.1, 0.9])));
      assert.equal(pNan, nanLabel === 0 ? pLow : pHigh);
    }
  });

  it('splits missing from present values when only missingness carries the signal', () => {
    const n = 300;
    const x = Float64Array.from({ length: n }, (_, i) => (i % 3 === 0 ? NaN : i));
    const y = Float64Array.from(x, (v) => (Number.isNaN(v) ? 1 : 0));
    const model = trainGbdt({ featureNames: ['x'], X: matrix(n, 1, x), y }, { nTrees: 1, maxDepth: 1, learningRate: 1, minChildWeight: 0, subsample: 1, colsampleByTree: 1 });
    const tree = model.trees[0]!;
    assert.equal(tree.threshold[0], -Infinity);
    assert.equal(tree.defaultLeft[0], true);
    const [pNan, pLow, pHigh] = model.predict(matrix(3, 1, Float64Array.from([NaN, -1e30, 1e30])));
    assert.ok(pNan! > 0.85 && pLow! < 0.15, `p(NaN) = ${pNan}, p(value) = ${pLow}`);
    assert.equal(pHigh, pLow);
    const restored = GbdtModel.fromJSON(JSON.parse(JSON.stringify(model)));
    assert.equal(restored.trees[0]!.threshold[0], -Infinity);
  });

  it('gives bit-identical models for the same seed and different ones for another seed', () => {
    const train = synthetic(2000, 1, 0.1);
    const params = { nTrees: 20, subsample: 0.7, colsampleByTree: 0.67, seed: 7 };
    const a = JSON.stringify(trainGbdt(train, params));
    const b = JSON.stringify(trainGbdt(train, params));
    const c = JSON.stringify(trainGbdt(train, { ...params, seed: 8 }));
    assert.equal(a, b);
    assert.notEqual(a, c);
  });

  it('stops early once the validation loss has not improved for earlyStoppingRounds rounds', () => {
    const train = synthetic(1500, 2);
    const validation = synthetic(1500, 3);
    const seen: number[] = [];
    const model = trainGbdt(
      train,
      { nTrees: 500, learningRate: 0.5, maxDepth: 6, minChildWeight: 0, earlyStoppingRounds: 10 },
      { validation, onIteration: (it) => seen.push(it.iteration) },
    );
    assert.ok(model.trees.length < 100, `stopped after ${model.trees.length} kept trees`);
    assert.equal(model.bestIteration, model.trees.length - 1);
    assert.equal(model.history.length, model.bestIteration + 1 + 10);
    assert.deepEqual(seen, model.history.map((h) => h.iteration));
    const losses = model.history.map((h) => h.validLoss!);
    assert.equal(Math.min(...losses), losses[model.bestIteration]);
  });

  it('records train and validation loss per round, and AUC when asked', () => {
    const train = synthetic(1000, 4);
    const validation = synthetic(500, 5);
    const model = trainGbdt(train, { nTrees: 30, earlyStoppingRounds: 0 }, { validation, trackAuc: true });
    assert.equal(model.history.length, 30);
    assert.equal(model.trees.length, 30);
    const first = model.history[0]!;
    const last = model.history.at(-1)!;
    assert.ok(last.trainLoss < first.trainLoss);
    assert.ok(last.validAuc! > 0.75 && last.trainAuc! >= last.validAuc! - 0.05);
    assert.equal(last.trainAuc, rocAuc(train.y, model.predictRaw(train.X)));
    const withoutAuc = trainGbdt(train, { nTrees: 2 });
    assert.equal(withoutAuc.history[0]!.trainAuc, undefined);
  });

  it('reduces squared error for regression and predicts on the label scale', () => {
    const rnd = createPrng(9);
    const n = 2000;
    const data = Float64Array.from({ length: n * 2 }, () => rnd.next() * 10);
    const y = Float64Array.from({ length: n }, (_, i) => 3 * Math.sin(data[i * 2]!) + data[i * 2 + 1]! + rnd.next());
    const model = trainGbdt({ featureNames: ['a', 'b'], X: matrix(n, 2, data), y }, { objective: 'regression', nTrees: 100, learningRate: 0.1 });
    const pred = model.predict(matrix(n, 2, data));
    let mse = 0;
    for (let i = 0; i < n; i++) mse += (pred[i]! - y[i]!) ** 2;
    assert.ok(mse / n < 0.3, `mse ${mse / n}`);
    assert.ok(Math.abs(model.history.at(-1)!.trainLoss - mse / n) < 1e-9);
  });

  it('ranks the informative features above noise by total gain', () => {
    const model = trainGbdt(synthetic(2000, 6), { nTrees: 30 });
    const importance = model.featureImportance();
    assert.deepEqual(importance.map((f) => f.feature), ['x0', 'x1', 'noise']);
    assert.ok(importance[0]!.gain > importance[2]!.gain * 5);
  });

  it('round-trips through JSON with identical predictions', () => {
    const train = synthetic(1500, 7, 0.2);
    const model = trainGbdt(train, { nTrees: 25 });
    const restored = GbdtModel.fromJSON(JSON.parse(JSON.stringify(model)));
    assert.deepEqual(restored.predict(train.X), model.predict(train.X));
    assert.deepEqual(restored.featureImportance(), model.featureImportance());
    assert.equal(restored.bestIteration, model.bestIteration);
    assert.throws(() => GbdtModel.fromJSON({ ...model.toJSON(), trees: [{ ...model.trees[0]!, left: [5] }] }), /left must be an array/);
  });

  it('rejects labels, shapes and parameters it cannot train on', () => {
    const train = synthetic(100, 8);
    assert.throws(() => trainGbdt({ ...train, y: train.y.map((v) => v * 2) }), /needs 0 or 1/);
    assert.throws(() => trainGbdt(train, { learningRate: 0 }), /learningRate/);
    assert.throws(() => trainGbdt(train, { maxBins: 256 }), /maxBins/);
    assert.throws(() => trainGbdt(train, {}, { validation: { ...train, X: matrix(1, 2) } }), /validation set has 2 columns/);
    assert.throws(() => trainGbdt(train).predict(matrix(1, 2)), /expects 3 features/);
  });
});

const creditCsv = TAIWAN_CREDIT_CSV;

describe('Taiwan credit-default data', () => {
  it('reaches test AUC >= 0.772 with the default settings on a 70/30 stratified split', async () => {
    const ds = await loadCsvDataset(creditCsv, { label: 'default payment next month', drop: ['ID'] });
    const [trainIdx, testIdx] = stratifiedSplit(ds.y, { fractions: [0.7, 0.3], seed: 42 }) as [Uint32Array, Uint32Array];
    const part = (idx: Uint32Array): Dataset => ({ featureNames: ds.featureNames, X: takeRows(ds.X, idx), y: Float64Array.from(idx, (i) => ds.y[i]!) });
    const model = trainGbdt(part(trainIdx));
    const test = part(testIdx);
    const auc = rocAuc(test.y, model.predict(test.X));
    assert.equal(model.trees.length, DEFAULT_GBDT_PARAMS.nTrees);
    assert.ok(auc >= 0.772, `test AUC ${auc}`);
  });
});
