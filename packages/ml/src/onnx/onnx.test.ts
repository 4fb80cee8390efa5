import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { GbdtModel } from '../gbdt/model.js';
import { resolveGbdtParams } from '../gbdt/params.js';
import { createPrng } from '../gbdt/prng.js';
import { trainGbdt } from '../gbdt/train.js';
import type { GbdtTree } from '../gbdt/tree.js';
import { trainLogReg } from '../logreg/logreg.js';
import { matrix, type Dataset, type Matrix } from '../matrix.js';
import { exportToOnnx, METADATA_KEYS } from './export.js';
import { decodeOnnxModel, encodeOnnxModel } from './proto.js';
import { withZipMap } from './zipmap.js';

const TOLERANCE = 1e-5;

/**
 * Six features on very different scales, a quarter of two of them missing, one integer-coded;
 * the label depends on missingness too, so default directions carry real weight.
 */
function creditLike(n: number, seed: number, objective: 'binary' | 'regression' = 'binary'): Dataset {
  const rnd = createPrng(seed);
  const cols = 6;
  const data = new Float64Array(n * cols);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const limit = Math.round(rnd.next() * 50) * 10000;
    const age = 21 + Math.floor(rnd.next() * 50);
    const pay = Math.floor(rnd.next() * 11) - 2;
    const bill = rnd.next() < 0.25 ? NaN : (rnd.next() - 0.1) * 2e5;
    const ratio = rnd.next() < 0.25 ? NaN : rnd.next();
    const noise = rnd.next() * 1e-3;
    data.set([limit, age, pay, bill, ratio, noise], i * cols);
    const z = -1 + 0.6 * pay - limit / 2e5 + (Number.isNaN(bill) ? 0.8 : bill / 2e5) + (Number.isNaN(ratio) ? -0.5 : ratio) + (rnd.next() - 0.5);
    y[i] = objective === 'binary' ? (rnd.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0) : z * 100;
  }
  return { featureNames: ['limit', 'age', 'pay', 'bill', 'ratio', 'noise'], X: matrix(n, cols, data), y };
}

async function runOnnx(bytes: Uint8Array, X: Matrix): Promise<ort.InferenceSession.OnnxValueMapType> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    return await session.run({ features: new ort.Tensor('float32', Float32Array.from(X.data), [X.rows, X.cols]) });
  } finally {
    await session.release();
  }
}

async function assertClassifierMatches(model: { predict(X: Matrix): Float64Array }, bytes: Uint8Array, X: Matrix): Promise<void> {
  const out = await runOnnx(bytes, X);
  const probabilities = out.probabilities!;
  const label = out.label!;
  assert.deepEqual(probabilities.dims, [X.rows, 2]);
  assert.equal(probabilities.type, 'float32');
  assert.deepEqual(label.dims, [X.rows]);
  assert.equal(label.type, 'int64');
  const expected = model.predict(X);
  const p = probabilities.data as Float32Array;
  const labels = label.data as BigInt64Array;
  for (let i = 0; i < X.rows; i++) {
    const e = expected[i]!;
    assert.ok(Math.abs(p[2 * i + 1]! - e) <= TOLERANCE, `row ${i}: onnx p=${p[2 * i + 1]}, ts p=${e}`);
    assert.ok(Math.abs(p[2 * i]! - (1 - e)) <= TOLERANCE, `row ${i}: onnx 1-p=${p[2 * i]}, ts 1-p=${1 - e}`);
    // Exactly at p = 0.5 float rounding may pick either label; anywhere else they must agree.
    if (Math.abs(e - 0.5) > TOLERANCE) assert.equal(labels[i], e > 0.5 ? 1n : 0n, `row ${i}: label for p=${e}`);
  }
}

function countMissing(X: Matrix): number {
  let m = 0;
  for (const v of X.data) if (Number.isNaN(v)) m++;
  return m;
}

describe('exportToOnnx', () => {
  it('exports a GBDT classifier whose onnxruntime probabilities and labels match the TypeScript model on every test row, NaNs included', async () => {
    const train = creditLike(3000, 1);
    const test = creditLike(2000, 2);
    const model = trainGbdt(train, { nTrees: 120, maxDepth: 5 });
    assert.ok(model.trees.some((t) => t.defaultLeft.some((d, i) => d && t.feature[i]! >= 0)), 'some split learned to send NaN left');
    assert.ok(countMissing(test.X) > 500);
    await assertClassifierMatches(model, exportToOnnx(model), test.X);
  });

  it('exports a GBDT regressor whose onnxruntime output matches the TypeScript prediction on every test row', async () => {
    const train = creditLike(3000, 3, 'regression');
    const test = creditLike(2000, 4, 'regression');
    const model = trainGbdt(train, { objective: 'regression', nTrees: 80 });
    const out = await runOnnx(exportToOnnx(model), test.X);
    const variable = out.variable!;
    assert.deepEqual(variable.dims, [test.X.rows, 1]);
    const expected = model.predict(test.X);
    const got = variable.data as Float32Array;
    for (let i = 0; i < test.X.rows; i++) {
      // float32 output: compare relative to the magnitude (outputs here are in the hundreds).
      assert.ok(Math.abs(got[i]! - expected[i]!) <= TOLERANCE * Math.max(1, Math.abs(expected[i]!)), `row ${i}: ${got[i]} vs ${expected[i]}`);
    }
  });

  it('exports logistic regression (mean imputation folded in) matching the TypeScript prediction on every test row', async () => {
    const train = creditLike(3000, 5);
    const test = creditLike(2000, 6);
    const model = trainLogReg(train);
    await assertClassifierMatches(model, exportToOnnx(model), test.X);
  });

  it('keeps routing a row exactly at a threshold the same way as training did', async () => {
    const train = creditLike(2000, 7);
    const model = trainGbdt(train, { nTrees: 30 });
    // Every threshold itself, and the float32 neighbours on both sides, for the split's feature.
    const rows: number[] = [];
    for (const tree of model.trees.slice(0, 5)) {
      tree.feature.forEach((f, i) => {
        if (f < 0 || tree.threshold[i] === -Infinity) return;
        const t = tree.threshold[i]!;
        for (const v of [t, nextFloat32(t, -1), nextFloat32(t, 1)]) {
          const row = Array.from(train.X.data.subarray(0, 6));
          row[f] = v;
          rows.push(...row);
        }
      });
    }
    const X = matrix(rows.length / 6, 6, Float64Array.from(rows));
    await assertClassifierMatches(model, exportToOnnx(model), X);
  });

  it('exports a split of missing against all present values (threshold −Infinity) that onnxruntime routes the same way', async () => {
    const n = 300;
    const x = Float64Array.from({ length: n }, (_, i) => (i % 3 === 0 ? NaN : i));
    const y = Float64Array.from(x, (v) => (Number.isNaN(v) ? 1 : 0));
    const model = trainGbdt({ featureNames: ['x'], X: matrix(n, 1, x), y }, { nTrees: 3, maxDepth: 1, minChildWeight: 0, subsample: 1, colsampleByTree: 1 });
    assert.equal(model.trees[0]!.threshold[0], -Infinity);
    await assertClassifierMatches(model, exportToOnnx(model), matrix(5, 1, Float64Array.from([NaN, -Infinity, -1e30, 0, Infinity])));
  });

  it('labels by p > 0.5 even when every leaf weight is positive', async () => {
    const tree: GbdtTree = {
      feature: [0, -1, -1],
      threshold: [0.5, 0, 0],
      defaultLeft: [true, false, false],
      left: [1, -1, -1],
      right: [2, -1, -1],
      value: [0, 0.25, 1.5],
      gain: [1, 0, 0],
      cover: [10, 5, 5],
    };
    const model = new GbdtModel({ objective: 'binary', featureNames: ['x'], params: resolveGbdtParams({}), trees: [tree], baseScore: -0.125, history: [], bestIteration: 0 });
    // Raw scores 0.125 and 1.375: both p > 0.5, but the first is below 0.5 as a raw score.
    await assertClassifierMatches(model, exportToOnnx(model), matrix(3, 1, Float64Array.from([0, 1, NaN])));
  });

  it('declares features float [N, F] in and label int64 [N] / probabilities float [N, 2] out, with ir_version 8 and ai.onnx.ml', () => {
    const model = trainGbdt(creditLike(500, 8), { nTrees: 3 });
    const decoded = decodeOnnxModel(exportToOnnx(model)) as {
      ir_version: number;
      opset_import: { domain?: string; version: number }[];
      graph: { input: unknown[]; output: unknown[] };
    };
    assert.equal(decoded.ir_version, 8);
    assert.deepEqual(
      decoded.opset_import.map((o) => [o.domain ?? '', o.version]),
      [
        ['', 17],
        ['ai.onnx.ml', 3],
      ],
    );
    const tensor = (elem: number, dims: object[]) => ({ tensor_type: { elem_type: elem, shape: { dim: dims } } });
    assert.deepEqual(decoded.graph.input, [{ name: 'features', type: tensor(1, [{ dim_param: 'N' }, { dim_value: 6 }]) }]);
    assert.deepEqual(decoded.graph.output, [
      { name: 'label', type: tensor(7, [{ dim_param: 'N' }]) },
      { name: 'probabilities', type: tensor(1, [{ dim_param: 'N' }, { dim_value: 2 }]) },
    ]);
  });

  it('stores feature names, objective, parameters, training facts and given metrics in metadata_props', () => {
    const train = creditLike(500, 9);
    const model = trainGbdt(train, { nTrees: 4, learningRate: 0.2 });
    const bytes = exportToOnnx(model, { metrics: { test_auc: 0.75 }, metadata: { owner: 'risk-team' } });
    const props = decodeOnnxModel(bytes).metadata_props as { key: string; value: string }[];
    const meta = Object.fromEntries(props.map((p) => [p.key, p.value]));
    assert.deepEqual(JSON.parse(meta[METADATA_KEYS.featureNames]!), train.featureNames);
    assert.equal(meta[METADATA_KEYS.modelType], 'gbdt');
    assert.equal(meta[METADATA_KEYS.objective], 'binary');
    assert.equal(JSON.parse(meta[METADATA_KEYS.params]!).learningRate, 0.2);
    assert.equal(JSON.parse(meta[METADATA_KEYS.training]!).trees, 4);
    assert.deepEqual(JSON.parse(meta[METADATA_KEYS.metrics]!), { test_auc: 0.75 });
    assert.equal(meta.owner, 'risk-team');
    assert.throws(() => exportToOnnx(model, { metadata: { 'contender.objective': 'x' } }), /reserved/);
  });
});

describe('ONNX encoding helpers', () => {
  it('decode then encode reproduces a model that decodes to the same object', () => {
    const bytes = exportToOnnx(trainLogReg(creditLike(500, 10)));
    const decoded = decodeOnnxModel(bytes);
    assert.deepEqual(decodeOnnxModel(encodeOnnxModel(decoded)), decoded);
  });

  it('withZipMap turns the probability output into a sequence of int64→float maps behind a ZipMap node', async () => {
    const data = creditLike(500, 11);
    for (const model of [trainGbdt(data, { nTrees: 3 }), trainLogReg(data)]) {
      const bytes = withZipMap(exportToOnnx(model));
      const decoded = decodeOnnxModel(bytes) as {
        graph: { node: { op_type: string; domain: string; input: string[]; output: string[]; attribute: { name: string; ints: number[] }[] }[]; output: { name: string; type: unknown }[] };
      };
      const nodes = decoded.graph.node;
      const zipmap = nodes.at(-1)!;
      assert.equal(zipmap.op_type, 'ZipMap');
      assert.equal(zipmap.domain, 'ai.onnx.ml');
      assert.deepEqual(zipmap.attribute.map((a) => [a.name, a.ints]), [['classlabels_int64s', [0, 1]]]);
      const classifier = nodes.find((n) => n.output.includes(zipmap.input[0]!))!;
      assert.deepEqual(classifier.output, ['label', zipmap.input[0]]);
      assert.deepEqual(zipmap.output, ['probabilities']);
      assert.deepEqual(decoded.graph.output[1], {
        name: 'probabilities',
        type: { sequence_type: { elem_type: { map_type: { key_type: 7, value_type: { tensor_type: { elem_type: 1 } } } } } },
      });
      // A valid model onnxruntime accepts, but whose probabilities are not a tensor.
      const session = await ort.InferenceSession.create(bytes);
      assert.deepEqual(session.outputNames, ['label', 'probabilities']);
      await session.release();
      assert.throws(() => withZipMap(bytes), /not a float tensor/);
    }
  });
});

/** The adjacent float32 value in the given direction. */
function nextFloat32(x: number, direction: 1 | -1): number {
  const f = new Float32Array([x]);
  const bits = new Int32Array(f.buffer);
  bits[0]! += (x >= 0 ? 1 : -1) * direction;
  return f[0]!;
}
