import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPrng } from '../gbdt/prng.js';
import { matrix, type Dataset } from '../matrix.js';
import { LogRegModel, trainLogReg } from './logreg.js';

/** Labels drawn from σ(0.5 + 1.5·a − 0.002·b) with a ~ U(−1, 1) and b ~ U(0, 1000): very different scales. */
function linearData(n: number, seed: number): Dataset {
  const rnd = createPrng(seed);
  const data = new Float64Array(n * 2);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = rnd.next() * 2 - 1;
    const b = rnd.next() * 1000;
    data[i * 2] = a;
    data[i * 2 + 1] = b;
    y[i] = rnd.next() < 1 / (1 + Math.exp(-(0.5 + 1.5 * a - 0.002 * b))) ? 1 : 0;
  }
  return { featureNames: ['a', 'b'], X: matrix(n, 2, data), y };
}

describe('trainLogReg', () => {
  it('does not start an iteration once its signal is aborted', () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    assert.throws(() => trainLogReg(linearData(100, 1), {}, { signal: controller.signal }), /cancelled/);
  });

  it('recovers the generating coefficients on raw, differently scaled features', () => {
    const model = trainLogReg(linearData(20000, 1), { l2: 1e-6 });
    assert.ok(model.converged);
    assert.ok(Math.abs(model.coefficients[0]! - 1.5) < 0.1, `a: ${model.coefficients[0]}`);
    assert.ok(Math.abs(model.coefficients[1]! + 0.002) < 0.0002, `b: ${model.coefficients[1]}`);
    assert.ok(Math.abs(model.intercept - 0.5) < 0.1, `intercept: ${model.intercept}`);
  });

  it('gives the same probabilities when a feature is rescaled, because the penalty acts on standardised coefficients', () => {
    const ds = linearData(3000, 2);
    const scaled = { ...ds, X: matrix(3000, 2, ds.X.data.map((v, k) => (k % 2 === 1 ? v / 1000 : v))) };
    const p = trainLogReg(ds, { l2: 10 }).predict(ds.X);
    const q = trainLogReg(scaled, { l2: 10 }).predict(scaled.X);
    for (let i = 0; i < p.length; i++) assert.ok(Math.abs(p[i]! - q[i]!) < 1e-5);
  });

  it('shrinks coefficients towards zero as l2 grows', () => {
    const ds = linearData(2000, 3);
    const weak = trainLogReg(ds, { l2: 0.01 });
    const strong = trainLogReg(ds, { l2: 1000 });
    assert.ok(Math.abs(strong.coefficients[0]!) < Math.abs(weak.coefficients[0]!) / 2);
  });

  it('predicts a missing value as if it were the training mean of its feature', () => {
    const ds = linearData(2000, 4);
    const data = ds.X.data.slice();
    for (let i = 0; i < 2000; i += 5) data[i * 2 + 1] = NaN;
    const model = trainLogReg({ ...ds, X: matrix(2000, 2, data) });
    let sum = 0;
    let count = 0;
    for (let i = 0; i < 2000; i++) {
      const v = Math.fround(data[i * 2 + 1]!);
      if (!Number.isNaN(v)) {
        sum += v;
        count++;
      }
    }
    assert.equal(model.imputeValues[1], Math.fround(sum / count));
    const [withNan, withMean] = model.predict(matrix(2, 2, Float64Array.from([0.3, NaN, 0.3, model.imputeValues[1]!])));
    assert.equal(withNan, withMean);
  });

  it('round-trips through JSON with identical predictions', () => {
    const ds = linearData(1000, 5);
    const model = trainLogReg(ds);
    const restored = LogRegModel.fromJSON(JSON.parse(JSON.stringify(model)));
    assert.deepEqual(restored.predict(ds.X), model.predict(ds.X));
    assert.throws(() => LogRegModel.fromJSON({ ...model.toJSON(), coefficients: [1] }), /coefficients must be 2 finite numbers/);
  });

  it('rejects non-binary labels and invalid parameters', () => {
    const ds = linearData(100, 6);
    assert.throws(() => trainLogReg({ ...ds, y: ds.y.map((v) => v + 1) }), /needs 0 or 1/);
    assert.throws(() => trainLogReg(ds, { l2: -1 }), /l2/);
    assert.throws(() => trainLogReg(ds, { maxIter: 0 }), /maxIter/);
  });
});
