import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import ort from 'onnxruntime-node';
import type { DeployedVersion, Task } from '@contender/contracts';
import { encodeOnnxModel } from '@contender/ml';
import { MIXED, mixedInputsModel } from '../test/mixed-inputs-model.js';
import { TREECL2, TREECL2_FEATURES, XGB_REGRESSOR, fixture } from '../test/registry-fixtures.js';
import { LoadedVersion, VersionLoadError, VersionReleasedError } from './loaded-version.js';

const SKLEARN_MULTICLASS = 'sklearn-onnx__tests_datasets_treecl.onnx';

function load(
  file: string | Buffer,
  featureNames: string[],
  opts: { task?: Task; scoreOutput?: string; threshold?: number; maxRowsPerRun?: number } = {},
) {
  const bytes = typeof file === 'string' ? fixture(file) : file;
  const deployed: DeployedVersion = {
    version: 1,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    sizeBytes: bytes.length,
    artifactPath: '/unused',
    featureNames,
    signature: { inputs: [], outputs: [] },
    scoreOutput: opts.scoreOutput ?? null,
    threshold: opts.threshold ?? null,
  };
  return LoadedVersion.load({ bytes, model: 'm', task: opts.task ?? 'binary_classification', deployed, settings: { intraOpNumThreads: 1, maxRowsPerRun: opts.maxRowsPerRun ?? 0 } });
}

/**
 * A regressor that looks its score up in a table of two: `idx` int64 [N, 1] → Gather → `score`
 * [N, 1]. An index outside 0…1 makes onnxruntime fail the whole run it is in.
 */
function lookupModel(): Buffer {
  return Buffer.from(
    encodeOnnxModel({
      ir_version: 8,
      producer_name: 'contender-serving-tests',
      opset_import: [{ domain: '', version: 17 }],
      graph: {
        name: 'lookup',
        node: [
          { op_type: 'Constant', domain: '', name: 'table', input: [], output: ['table'], attribute: [{ name: 'value_floats', type: 'FLOATS', floats: [0.25, 0.75] }] },
          { op_type: 'Gather', domain: '', name: 'gather', input: ['table', 'idx'], output: ['score'], attribute: [{ name: 'axis', type: 'INT', i: 0 }] },
        ],
        input: [{ name: 'idx', type: { tensor_type: { elem_type: 7, shape: { dim: [{ dim_param: 'N' }, { dim_value: 1 }] } } } }],
        output: [{ name: 'score', type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_param: 'N' }, { dim_value: 1 }] } } } }],
      },
    }),
  );
}

const row = (i: number) => Object.fromEntries(TREECL2_FEATURES.map((n, j) => [n, Math.sin(i * 7 + j) * 2]));

describe('LoadedVersion (onnxruntime)', () => {
  it('scores requests that arrive together in one run, each getting exactly its own rows\' scores', async () => {
    const v = await load(TREECL2, TREECL2_FEATURES);
    // Same threading as serving's: with several threads onnxruntime may sum the trees of a large
    // batch in another order, which changes the last bits of a float.
    const session = await ort.InferenceSession.create(fixture(TREECL2), { intraOpNumThreads: 1 });
    const rows = Array.from({ length: 60 }, (_, i) => row(i));
    const expected = (await session.run({ input: new ort.Tensor('float32', Float32Array.from(rows.flatMap((r) => TREECL2_FEATURES.map((n) => r[n]!))), [60, 20]) }))
      .proba_2!.data as Float32Array;
    // 50 single-row requests and one of 10 rows, all in the same tick.
    const singles = rows.slice(0, 50).map((r) => {
      const e = v.encoder.encode([r]);
      assert.ok(e.ok);
      return v.score(e.inputs, 1);
    });
    const multi = v.encoder.encode(rows.slice(50));
    assert.ok(multi.ok);
    const many = v.score(multi.inputs, 10);
    const got = await Promise.all(singles);
    got.forEach((s, i) => assert.equal(s[0], expected[i * 2 + 1], `request ${i}`));
    assert.deepEqual(Array.from(await many), Array.from({ length: 10 }, (_, i) => expected[(50 + i) * 2 + 1]));
    v.retire();
    await v.released;
    await session.release();
  });

  it('scores more rows than maxRowsPerRun in consecutive runs, every row getting its own score', async () => {
    const v = await load(TREECL2, TREECL2_FEATURES, { maxRowsPerRun: 7 });
    const session = await ort.InferenceSession.create(fixture(TREECL2), { intraOpNumThreads: 1 });
    const rows = Array.from({ length: 60 }, (_, i) => row(i + 100));
    const expected = (await session.run({ input: new ort.Tensor('float32', Float32Array.from(rows.flatMap((r) => TREECL2_FEATURES.map((n) => r[n]!))), [60, 20]) }))
      .proba_2!.data as Float32Array;
    // One request of 23 rows and, in the same tick, 37 single rows: 60 rows merged, in 9 runs.
    const runs: number[] = [];
    // Counted on onnxruntime's own session class, whose run is still called.
    const proto = (ort.InferenceSession as unknown as { prototype: Pick<ort.InferenceSession, 'run'> }).prototype;
    const run = proto.run;
    proto.run = function (this: ort.InferenceSession, ...args: Parameters<typeof run>) {
      runs.push((Object.values(args[0] as Record<string, ort.Tensor>)[0]!).dims[0]!);
      return run.apply(this, args);
    } as typeof run;
    const big = v.encoder.encode(rows.slice(0, 23));
    assert.ok(big.ok);
    const many = v.score(big.inputs, 23);
    const singles = rows.slice(23).map((r) => {
      const e = v.encoder.encode([r]);
      assert.ok(e.ok);
      return v.score(e.inputs, 1);
    });
    try {
      assert.deepEqual(Array.from(await many), Array.from({ length: 23 }, (_, i) => expected[i * 2 + 1]));
      (await Promise.all(singles)).forEach((s, i) => assert.equal(s[0], expected[(23 + i) * 2 + 1], `request ${i}`));
    } finally {
      proto.run = run;
    }
    assert.deepEqual(runs, [7, 7, 7, 7, 7, 7, 7, 7, 4]);
    v.retire();
    await v.released;
    await session.release();
  });

  it('splits models with one input per feature, string inputs included, into runs just the same', async () => {
    const whole = await load(mixedInputsModel(), MIXED.features);
    const split = await load(mixedInputsModel(), MIXED.features, { maxRowsPerRun: 3 });
    const cities = ['taipei', 'tainan', 'kaohsiung'];
    const rows = Array.from({ length: 10 }, (_, i) => ({ age: 20 + i * 3, city: cities[i % 3]!, visits: i }));
    const scores = await Promise.all(
      [whole, split].map(async (v) => {
        const e = v.encoder.encode(rows);
        assert.ok(e.ok);
        return Array.from(await v.score(e.inputs, rows.length));
      }),
    );
    assert.equal(new Set(scores[0]).size, rows.length, 'the rows should not all score alike');
    // A linear model's matrix product may round the last float32 bit differently for another
    // number of rows (a run of one row here); a row mixed up with another would differ by far more.
    scores[1]!.forEach((s, i) => assert.ok(Math.abs(s - scores[0]![i]!) < 1e-6, `row ${i}: ${s} against ${scores[0]![i]}`));
    for (const v of [whole, split]) {
      v.retire();
      await v.released;
    }
  });

  it('releases its session only after the runs in flight have finished, and refuses new ones after', async () => {
    const v = await load(TREECL2, TREECL2_FEATURES);
    const e = v.encoder.encode([row(1)]);
    assert.ok(e.ok);
    const inFlight = v.score(e.inputs, 1);
    let released = false;
    void v.released.then(() => (released = true));
    v.retire();
    await new Promise((r) => setImmediate(r));
    assert.equal(released, false, 'not released under a request');
    assert.equal((await inFlight).length, 1);
    await v.released;
    await assert.rejects(v.score(e.inputs, 1), VersionReleasedError);
  });

  it('reads a regressor\'s first float output as the score', async () => {
    const v = await load(XGB_REGRESSOR, ['a', 'b', 'c', 'd'], { task: 'regression' });
    const e = v.encoder.encode([{ a: 1, b: 2, c: 3, d: 4 }]);
    assert.ok(e.ok);
    const session = await ort.InferenceSession.create(fixture(XGB_REGRESSOR));
    const expected = (await session.run({ X: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4), [1, 4]) })).variable!.data as Float32Array;
    assert.equal((await v.score(e.inputs, 1))[0], expected[0]);
    v.retire();
    await session.release();
  });

  it('refuses versions it could not score correctly: a multiclass output, an unknown scoreOutput, a label output, a width mismatch', async () => {
    await assert.rejects(load(SKLEARN_MULTICLASS, TREECL2_FEATURES), /has 3 values per row; a binary classifier needs \[N, 2\], \[N, 1\] or \[N\]/);
    await assert.rejects(load(TREECL2, TREECL2_FEATURES, { scoreOutput: 'nope' }), /scoreOutput "nope" is not an output of the model/);
    await assert.rejects(load(TREECL2, TREECL2_FEATURES, { scoreOutput: 'label_2' }), VersionLoadError);
    await assert.rejects(load(XGB_REGRESSOR, ['a', 'b', 'c'], { task: 'regression' }), /takes 4 features but the version lists 3/);
    await assert.rejects(load(TREECL2, ['a', 'b']), /warm-up inference failed/);
  });

  it('keeps the version\'s decision threshold, 0.5 when the version has none', async () => {
    const v = await load(TREECL2, TREECL2_FEATURES, { threshold: 0.8 });
    assert.equal(v.threshold, 0.8);
    v.retire();
    const d = await load(TREECL2, TREECL2_FEATURES);
    assert.equal(d.threshold, 0.5);
    d.retire();
  });
  it('runs each request of a failed shared run again on its own: only the request onnxruntime rejects fails', async () => {
    const v = await load(lookupModel(), ['idx'], { task: 'regression' });
    const indices = [0, 1, 1, 7, 0, 1, 0, 0];
    // All in the same tick: one merged run, which fails because of the 7.
    const results = await Promise.allSettled(
      indices.map((idx) => {
        const e = v.encoder.encode([{ idx }]);
        assert.ok(e.ok);
        return v.score(e.inputs, 1);
      }),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      indices.map((i) => (i === 7 ? 'rejected' : 'fulfilled')),
    );
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') assert.deepEqual(Array.from(r.value), [[0.25, 0.75][indices[i]!]]);
      else assert.match(String(r.reason), /out of (data )?bounds|indices/i);
    });
    v.retire();
    await v.released;
  });
});
