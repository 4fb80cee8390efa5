import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import request from 'supertest';
import { exportToOnnx, matrix, trainGbdt, trainLogReg, withZipMap } from '@contender/ml';
import { listBucketContents } from '@contender/platform/testing';
import { startTestRegistry, type TestRegistry } from '../testing.js';
import { TREECL2, TREECL2_FEATURES, XGB_REGRESSOR, auth, createModel, fixture, uploadVersion } from './fixtures.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('version registration against the S3 store', () => {
  let reg: TestRegistry;
  let key: string;

  const rowCounts = async () => {
    const q = (sql: string) => reg.container.pool.query<{ n: number }>(sql).then((r) => r.rows[0]!.n);
    return {
      versions: await q('SELECT count(*)::int AS n FROM registry.model_version'),
      events: await q("SELECT count(*)::int AS n FROM registry.audit_event WHERE action = 'version.registered'"),
      lastVersion: await q("SELECT coalesce(max(last_version), 0)::int AS n FROM registry.model"),
    };
  };

  before(async () => {
    reg = await startTestRegistry({ store: 's3', env: { MAX_ARTIFACT_BYTES: String(64 * 1024) } });
    key = await reg.createKey('data-scientist');
    await createModel(reg.app, key, { name: 'credit', task: 'binary_classification' }).expect(201);
    await createModel(reg.app, key, { name: 'xgb', task: 'regression', primaryMetric: 'rmse', metricGoal: 'minimize' }).expect(201);
  });
  after(() => reg.close());

  it('registers a real sklearn-onnx classifier, reports its signature and serves back the identical bytes', async () => {
    const bytes = fixture(TREECL2);
    const res = await uploadVersion(reg.app, key, 'credit', bytes, {
      featureNames: TREECL2_FEATURES,
      metrics: { auc: 0.81 },
      params: { trees: 3 },
      source: { runId: 'run-1', gitCommit: 'abc1234', dataset: { uri: 's3://data/credit.csv', rows: 1000 } },
    }).expect(201);
    assert.equal(res.body.version, 1);
    assert.equal(res.body.sha256, sha256(bytes));
    assert.equal(res.body.sizeBytes, bytes.length);
    assert.match(res.body.artifactUri, new RegExp(`^s3://${reg.bucket}/models/credit/sha256-${sha256(bytes)}\\.onnx$`));
    assert.deepEqual(res.body.signature, {
      inputs: [{ name: 'input', type: 'float32', shape: ['?', '?'] }],
      outputs: [
        { name: 'label_2', type: 'int64', shape: ['?'] },
        { name: 'proba_2', type: 'float32', shape: ['?', '?'] },
      ],
    });
    assert.deepEqual(res.body.featureNames, TREECL2_FEATURES);
    assert.equal(res.body.createdBy.startsWith('data-scientist'), true);

    const dl = await request(reg.app)
      .get('/api/v1/models/credit/versions/1/artifact')
      .set(auth(key))
      .buffer(true)
      .parse((r, cb) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => cb(null, Buffer.concat(chunks)));
      })
      .expect(200);
    assert.equal(dl.headers.etag, `"${sha256(bytes)}"`);
    assert.equal(dl.headers['cache-control'], 'private, max-age=31536000, immutable', 'an authenticated download must not be cached by shared caches');
    assert.ok(Buffer.compare(dl.body as Buffer, bytes) === 0, 'downloaded bytes differ');
    await request(reg.app).get('/api/v1/models/credit/versions/1/artifact').set(auth(key)).set('If-None-Match', `"${sha256(bytes)}"`).expect(304);
  });

  it('registers an XGBoost regressor with a fixed input width and checks featureNames against it', async () => {
    const bytes = fixture(XGB_REGRESSOR);
    const bad = await uploadVersion(reg.app, key, 'xgb', bytes, { featureNames: ['a', 'b', 'c'] }).expect(422);
    assert.equal(bad.body.error.code, 'feature_mismatch');
    assert.match(bad.body.error.message, /3 names but input "X" takes 4 features/);
    const ok = await uploadVersion(reg.app, key, 'xgb', bytes, { featureNames: ['a', 'b', 'c', 'd'], metrics: { rmse: 1.5 } }).expect(201);
    assert.deepEqual(ok.body.signature.inputs, [{ name: 'X', type: 'float32', shape: ['?', 4] }]);
    assert.equal(ok.body.version, 1);
  });

  it('accepts the GBDT and logistic regression exports of @contender/ml and reports their signature', async () => {
    // A small synthetic problem: the label depends on the first two of four features.
    const rows = 400;
    const X = matrix(rows, 4);
    const y = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < 4; j++) X.data[i * 4 + j] = ((i * 7919 + j * 104729) % 1000) / 1000;
      y[i] = X.data[i * 4]! + X.data[i * 4 + 1]! > 1 ? 1 : 0;
    }
    const train = { featureNames: ['income', 'debt', 'age', 'tenure'], X, y };
    await createModel(reg.app, key, { name: 'exported', task: 'binary_classification' }).expect(201);
    for (const model of [trainGbdt(train, { nTrees: 20, maxDepth: 3 }), trainLogReg(train)]) {
      const bytes = Buffer.from(exportToOnnx(model));
      const res = await uploadVersion(reg.app, key, 'exported', bytes, { featureNames: train.featureNames, metrics: { auc: 0.9 } }).expect(201);
      assert.deepEqual(res.body.signature, {
        inputs: [{ name: 'features', type: 'float32', shape: ['N', 4] }],
        outputs: [
          { name: 'label', type: 'int64', shape: ['N'] },
          { name: 'probabilities', type: 'float32', shape: ['N', 2] },
        ],
      });
      assert.equal(res.body.sha256, sha256(bytes));
    }
  });

  it('refuses garbage bytes with invalid_model and leaves no row and no object', async () => {
    const before = await rowCounts();
    const objectsBefore = (await listBucketContents(reg.bucket!)).objects.length;
    const res = await uploadVersion(reg.app, key, 'credit', Buffer.from('this is not an onnx model at all'), { featureNames: ['a'] }).expect(422);
    assert.equal(res.body.error.code, 'invalid_model');
    assert.match(res.body.error.message, /not a loadable ONNX model/);
    assert.doesNotMatch(res.body.error.message, /\/tmp\//, 'the message must not name server temp files');
    assert.deepEqual(await rowCounts(), before);
    const after = await listBucketContents(reg.bucket!);
    assert.equal(after.objects.length, objectsBefore);
    assert.deepEqual(after.openUploads, []);
  });

  it('refuses a ZipMap classifier, says how to export without it, and leaves nothing behind', async () => {
    const zipmapped = Buffer.from(withZipMap(fixture(TREECL2)));
    const before = await rowCounts();
    const objectsBefore = (await listBucketContents(reg.bucket!)).objects;
    const res = await uploadVersion(reg.app, key, 'credit', zipmapped, { featureNames: TREECL2_FEATURES }).expect(422);
    assert.equal(res.body.error.code, 'non_tensor_output');
    assert.match(res.body.error.message, /not a tensor/);
    assert.match(res.body.error.message, /zipmap': False/);
    assert.deepEqual(await rowCounts(), before);
    assert.deepEqual((await listBucketContents(reg.bucket!)).objects, objectsBefore);
  });

  it('refuses featureNames too short for what the trees read, found by a test inference', async () => {
    const res = await uploadVersion(reg.app, key, 'credit', fixture(TREECL2), { featureNames: ['a', 'b'] }).expect(422);
    assert.equal(res.body.error.code, 'feature_mismatch');
    assert.match(res.body.error.message, /test inference on one row of 2 features/);
    assert.match(res.body.error.message, /requests feature 19/);
  });

  it('requires featureNames when the input width cannot name the features', async () => {
    const res = await uploadVersion(reg.app, key, 'credit', fixture(TREECL2)).expect(422);
    assert.equal(res.body.error.code, 'feature_names_required');
  });

  it('answers 413 for an artifact over MAX_ARTIFACT_BYTES and stores nothing', async () => {
    const before = await rowCounts();
    const objectsBefore = (await listBucketContents(reg.bucket!)).objects;
    const res = await uploadVersion(reg.app, key, 'credit', Buffer.alloc(64 * 1024 + 1, 7), { featureNames: ['a'] }).expect(413);
    assert.equal(res.body.error.code, 'payload_too_large');
    assert.match(res.body.error.message, /MAX_ARTIFACT_BYTES \(65536 bytes\)/);
    assert.deepEqual(await rowCounts(), before);
    assert.deepEqual((await listBucketContents(reg.bucket!)).objects, objectsBefore);
  });

  it('names the field and the reason for bad metadata, and stores nothing', async () => {
    const before = await rowCounts();
    const notJson = await uploadVersion(reg.app, key, 'credit', fixture(TREECL2), '{not json').expect(400);
    assert.equal(notJson.body.error.code, 'malformed_json');
    const badMetric = await uploadVersion(reg.app, key, 'credit', fixture(TREECL2), { featureNames: TREECL2_FEATURES, metrics: { auc: 'high' } }).expect(400);
    assert.equal(badMetric.body.error.code, 'validation_failed');
    assert.match(badMetric.body.error.message, /metadata\.metrics\.auc/);
    const unknown = await uploadVersion(reg.app, key, 'credit', fixture(TREECL2), { featureNames: TREECL2_FEATURES, colour: 'red' }).expect(400);
    assert.match(unknown.body.error.message, /colour/);
    const badCommit = await uploadVersion(reg.app, key, 'credit', fixture(TREECL2), { featureNames: TREECL2_FEATURES, source: { gitCommit: 'not-hex!' } }).expect(400);
    assert.match(badCommit.body.error.message, /metadata\.source\.gitCommit: must be a hex commit id/);
    assert.deepEqual(await rowCounts(), before);
  });

  it('refuses a request without an artifact part, or with an unexpected part, naming it', async () => {
    const none = await request(reg.app).post('/api/v1/models/credit/versions').set(auth(key)).field('metadata', '{}').expect(400);
    assert.equal(none.body.error.code, 'missing_part');
    assert.match(none.body.error.message, /"artifact"/);
    const extra = await request(reg.app).post('/api/v1/models/credit/versions').set(auth(key)).attach('model', fixture(TREECL2), 'm.onnx').expect(400);
    assert.equal(extra.body.error.code, 'unexpected_part');
    assert.match(extra.body.error.message, /"model"/);
    const json = await request(reg.app).post('/api/v1/models/credit/versions').set(auth(key)).send({ artifact: 'x' }).expect(415);
    assert.match(json.body.error.message, /multipart\/form-data/);
  });

  it('answers 404 for an upload to a model that does not exist', async () => {
    const res = await uploadVersion(reg.app, key, 'nope', fixture(TREECL2), { featureNames: TREECL2_FEATURES }).expect(404);
    assert.equal(res.body.error.code, 'model_not_found');
  });

  it('numbers 20 concurrent uploads to one model 1…20 with no gap or duplicate', async () => {
    await createModel(reg.app, key, { name: 'busy', task: 'binary_classification' }).expect(201);
    const bytes = fixture(TREECL2);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => uploadVersion(reg.app, key, 'busy', bytes, { featureNames: TREECL2_FEATURES, metrics: { auc: 0.5 + i / 100 } })),
    );
    for (const r of results) assert.equal(r.status, 201, JSON.stringify(r.body));
    const versions = results.map((r) => r.body.version as number).sort((a, b) => a - b);
    assert.deepEqual(versions, Array.from({ length: 20 }, (_, i) => i + 1));
    const list = await request(reg.app).get('/api/v1/models/busy/versions?limit=200').set(auth(key)).expect(200);
    assert.deepEqual(
      list.body.items.map((v: { version: number }) => v.version),
      Array.from({ length: 20 }, (_, i) => 20 - i),
    );
    // Identical bytes are one content-addressed object.
    const objects = (await listBucketContents(reg.bucket!)).objects.filter((o) => o.startsWith('models/busy/'));
    assert.deepEqual(objects, [`models/busy/sha256-${sha256(bytes)}.onnx`]);
  });

  it('pages through versions newest first with a cursor', async () => {
    const page1 = await request(reg.app).get('/api/v1/models/busy/versions?limit=7').set(auth(key)).expect(200);
    assert.deepEqual(page1.body.items.map((v: { version: number }) => v.version), [20, 19, 18, 17, 16, 15, 14]);
    const page2 = await request(reg.app).get(`/api/v1/models/busy/versions?limit=7&before=${page1.body.nextCursor}`).set(auth(key)).expect(200);
    assert.equal(page2.body.items[0].version, 13);
    const bad = await request(reg.app).get('/api/v1/models/busy/versions?limit=0').set(auth(key)).expect(400);
    assert.match(bad.body.error.message, /limit/);
  });
});
