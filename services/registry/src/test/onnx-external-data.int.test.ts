import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encodeOnnxModel, onnxBuilders as b, type OnnxObject } from '@contender/ml';
import { startTestRegistry, type TestRegistry } from '../testing.js';
import { createModel, uploadVersion } from './fixtures.js';

/** Six int64 values that stand for a secret on the host (an admin key file, say). */
const SECRET = [7310575183325164387n, 5424134498394157100n, 3761400587139478131n, 8314046399141195873n, 7022344813318059826n, 4123456789012345678n];
const FEATURES = ['a', 'b', 'c', 'd', 'e', 'f'];

/** An int64 [6] tensor whose bytes onnxruntime would read from `location`, next to the model file. */
const externalShape = (name: string, location: string): OnnxObject => ({
  name,
  data_type: b.INT64,
  dims: [6],
  data_location: 'EXTERNAL',
  external_data: [
    { key: 'location', value: location },
    { key: 'length', value: String(SECRET.length * 8) },
  ],
});

/**
 * The probe's file: `Reshape(x, shape)` where `shape` is read from the external file; the test
 * inference on a row of zeros fails with onnxruntime quoting the requested shape, i.e. the file.
 */
function reshapeReadingFile(location: string): Buffer {
  const model = b.modelProto({
    name: 'reads-a-file',
    nodes: [b.node('Reshape', ['x', 'shape'], ['y'], [])],
    // Listing the initializer as an input too (a default the caller may override) keeps shape
    // inference from reading it at load; onnxruntime reads it when the session is created.
    inputs: [b.tensorInfo('x', b.FLOAT, [1, 6]), b.tensorInfo('shape', b.INT64, [6])],
    outputs: [b.tensorInfo('y', b.FLOAT, [1, 6])],
    metadata: {},
  });
  (model.graph as OnnxObject).initializer = [externalShape('shape', location)];
  return Buffer.from(encodeOnnxModel(model));
}

/** The same read hidden in a subgraph: `If(cond)` whose branches compute the shape for Reshape. */
function reshapeWithShapeFromIf(location: string, op: 'If' | 'Loop'): Buffer {
  const branch = (initializer: OnnxObject[], nodes: OnnxObject[], outputs: OnnxObject[], inputs: OnnxObject[] = []): OnnxObject => ({
    name: 'body',
    node: nodes,
    initializer,
    input: inputs,
    output: outputs,
  });
  const bodyNode =
    op === 'If'
      ? b.node('If', ['cond'], ['shape'], [
          { name: 'then_branch', type: 'GRAPH', g: branch([externalShape('secret_shape', location)], [b.node('Identity', ['secret_shape'], ['s_then'], [])], [b.tensorInfo('s_then', b.INT64, [6])]) },
          { name: 'else_branch', type: 'GRAPH', g: branch([externalShape('other_shape', location)], [b.node('Identity', ['other_shape'], ['s_else'], [])], [b.tensorInfo('s_else', b.INT64, [6])]) },
        ])
      : b.node('Loop', ['trip', 'cond', 'seed'], ['shape'], [
          {
            name: 'body',
            type: 'GRAPH',
            g: branch(
              [externalShape('secret_shape', location)],
              [b.node('Identity', ['cond_in'], ['cond_out'], []), b.node('Identity', ['secret_shape'], ['carry_out'], [])],
              [b.tensorInfo('cond_out', 9, []), b.tensorInfo('carry_out', b.INT64, [6])],
              [b.tensorInfo('i', b.INT64, []), b.tensorInfo('cond_in', 9, []), b.tensorInfo('carry_in', b.INT64, [6])],
            ),
          },
        ]);
  const model = b.modelProto({
    name: `reads-a-file-in-${op}`,
    nodes: [bodyNode, b.node('Reshape', ['x', 'shape'], ['y'], [])],
    inputs: [b.tensorInfo('x', b.FLOAT, [1, 6])],
    outputs: [b.tensorInfo('y', b.FLOAT, [1, 6])],
    metadata: {},
  });
  const bool = (name: string, v: number): OnnxObject => ({ name, data_type: 9, dims: [], int32_data: [v] });
  (model.graph as OnnxObject).initializer =
    op === 'If' ? [bool('cond', 1)] : [{ name: 'trip', data_type: b.INT64, dims: [], int64_data: [1] }, bool('cond', 1), { name: 'seed', data_type: b.INT64, dims: [6], int64_data: [1, 1, 1, 1, 1, 6] }];
  return Buffer.from(encodeOnnxModel(model));
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe('ONNX files that read host files through external data', () => {
  let reg: TestRegistry;
  let key: string;
  let stagingRoot: string;
  let artifactsDir: string;

  const versionRows = () => reg.container.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM registry.model_version').then((r) => r.rows[0]!.n);

  const assertLeaksNothing = (res: { text: string }) => {
    for (const n of SECRET) {
      assert.doesNotMatch(res.text, new RegExp(n.toString()), 'the response quotes a number of the target file');
      assert.doesNotMatch(res.text, new RegExp(n.toString(16)), 'the response quotes a number of the target file (hex)');
    }
  };

  before(async () => {
    reg = await startTestRegistry();
    stagingRoot = reg.container.config.UPLOAD_TMP_DIR;
    artifactsDir = new URL(reg.container.config.ARTIFACT_STORE).pathname;
    const secret = Buffer.alloc(SECRET.length * 8);
    SECRET.forEach((n, i) => secret.writeBigInt64LE(n, i * 8));
    // The target sits in the staging folder itself, where the model file used to be written.
    await writeFile(path.join(stagingRoot, 'admin-key.bin'), secret);
    key = await reg.createKey('data-scientist');
    await createModel(reg.app, key, { name: 'probe', task: 'regression' }).expect(201);
  });
  after(() => reg.close());

  it('refuses an initializer stored as external data with 422 external_data naming it, before any session reads the file', async () => {
    const res = await uploadVersion(reg.app, key, 'probe', reshapeReadingFile('admin-key.bin'), { featureNames: FEATURES }).expect(422);
    assert.equal(res.body.error.code, 'external_data');
    assert.match(res.body.error.message, /tensor "shape"/);
    assert.deepEqual(res.body.error.details.tensors, [{ name: 'shape', path: 'graph.initializer' }]);
    assertLeaksNothing(res);
    assert.equal(await versionRows(), 0);
    assert.deepEqual(await filesUnder(artifactsDir), []);
  });

  for (const op of ['If', 'Loop'] as const) {
    it(`refuses an external tensor inside an ${op} body subgraph, naming it`, async () => {
      const res = await uploadVersion(reg.app, key, 'probe', reshapeWithShapeFromIf('admin-key.bin', op), { featureNames: FEATURES }).expect(422);
      assert.equal(res.body.error.code, 'external_data');
      assert.match(res.body.error.message, /tensor "secret_shape"/);
      assert.ok(
        (res.body.error.details.tensors as Array<{ path: string }>).every((t) => t.path === 'graph.node.attribute.g.initializer'),
        JSON.stringify(res.body.error.details),
      );
      assertLeaksNothing(res);
      assert.equal(await versionRows(), 0);
      assert.deepEqual(await filesUnder(artifactsDir), []);
    });
  }

  it('stages each upload in a folder of its own that is gone afterwards', async () => {
    const before = new Set(await readdir(stagingRoot));
    await uploadVersion(reg.app, key, 'probe', reshapeReadingFile('admin-key.bin'), { featureNames: FEATURES }).expect(422);
    await uploadVersion(reg.app, key, 'probe', Buffer.from('not onnx'), { featureNames: FEATURES }).expect(422);
    assert.deepEqual(new Set(await readdir(stagingRoot)), before);
  });
});
