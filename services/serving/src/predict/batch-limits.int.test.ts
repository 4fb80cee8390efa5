import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import request from 'supertest';
import { exportToOnnx, matrix, trainGbdt } from '@contender/ml';
import { createTestDatabase, type TestDatabase } from '@contender/platform/testing';
import { startTestRegistry, type TestRegistry } from '@contender/registry/testing';
import { batchBodyLimitBytes } from '../config.js';
import { startTestServing, type TestServing } from '../testing.js';
import { RegistryAdmin } from '../test/registry-fixtures.js';

const WIDTH = 23;
const FEATURES = Array.from({ length: WIDTH }, (_, i) => `f${i}`);

/** Deterministic pseudo-random values in [-2, 2). */
function values(n: number, seed: number): Float64Array {
  let s = seed;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 4 - 2;
  return out;
}

/** A 23-feature gradient-boosted classifier trained with @contender/ml (fewer trees than the bench's 200). */
function model23(): Buffer {
  const n = 400;
  const X = matrix(n, WIDTH, values(n * WIDTH, 3));
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = X.data[i * WIDTH]! + X.data[i * WIDTH + 1]! > 0 ? 1 : 0;
  return Buffer.from(exportToOnnx(trainGbdt({ featureNames: FEATURES, X, y }, { nTrees: 10, maxDepth: 3 })));
}

function batch(n: number): { model: string; rows: Array<{ features: Record<string, number> }> } {
  const v = values(n * WIDTH, 11);
  const rows = Array.from({ length: n }, (_, r) => ({
    features: Object.fromEntries(FEATURES.map((f, j) => [f, Math.round(v[r * WIDTH + j]! * 1e6) / 1e6])),
  }));
  return { model: 'wide', rows };
}

describe('POST /predict/batch at MAX_BATCH_ROWS rows of a 23-feature model', () => {
  let db: TestDatabase;
  let reg: TestRegistry;
  let serving: TestServing;
  let predictor: string;
  let pool: pg.Pool;

  before(async () => {
    db = await createTestDatabase('serving_batch_limits');
    reg = await startTestRegistry();
    const admin = new RegistryAdmin(reg.url, reg.adminKey);
    await admin.createModel('wide');
    const v1 = await admin.registerVersion('wide', model23(), { featureNames: FEATURES });
    await admin.setAlias('wide', 'champion', v1);
    predictor = await reg.createKey('predictor');
    serving = await startTestServing({ registryUrl: reg.url, apiKey: await reg.createKey('predictor'), databaseUrl: db.url });
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
  });
  after(async () => {
    await serving?.close();
    await pool?.end();
    await reg?.close();
    await db?.drop();
  });

  it('scores 10,000 rows in one request, a body over 1 MiB, and logs every row', async () => {
    const body = batch(10_000);
    const bytes = Buffer.byteLength(JSON.stringify(body));
    assert.ok(bytes > 1024 * 1024, `the batch is ${bytes} bytes, more than the 1 MiB other routes take`);
    const res = await request(serving.app).post('/predict/batch').set('Authorization', `Bearer ${predictor}`).set('X-Request-Id', 'batch-10000').send(body).expect(200);
    assert.equal(res.body.predictions.length, 10_000);
    await serving.container.predictionLog.flush();
    const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM serving.prediction WHERE request_id = 'batch-10000'");
    assert.equal(rows[0]!.n, 10_000);
  });

  it('refuses 10,001 rows with 413 naming MAX_BATCH_ROWS, and logs nothing of them', async () => {
    const res = await request(serving.app).post('/predict/batch').set('Authorization', `Bearer ${predictor}`).set('X-Request-Id', 'batch-10001').send(batch(10_001)).expect(413);
    assert.equal(res.body.error.code, 'too_many_rows');
    assert.match(res.body.error.message, /at most 10000 rows per batch \(MAX_BATCH_ROWS\), got 10001/);
    assert.equal(res.body.error.details.limit, 10_000);
    await serving.container.predictionLog.flush();
    const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM serving.prediction WHERE request_id = 'batch-10001'");
    assert.equal(rows[0]!.n, 0);
  });

  it('refuses a batch body over MAX_BATCH_ROWS × BATCH_ROW_BYTES with 413 naming the byte limit, and keeps 1 MiB elsewhere', async () => {
    const limit = batchBodyLimitBytes(serving.config);
    const padded = JSON.stringify({ model: 'wide', rows: [{ features: { f0: 1 } }], pad: 'x'.repeat(limit) });
    const res = await request(serving.app).post('/predict/batch').set('Authorization', `Bearer ${predictor}`).set('Content-Type', 'application/json').send(padded).expect(413);
    assert.equal(res.body.error.code, 'payload_too_large');
    assert.equal(res.body.error.details.limitBytes, limit);
    const put = await request(serving.app)
      .put('/features/e1')
      .set('Authorization', `Bearer ${predictor}`)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ features: { f0: 1 }, pad: 'x'.repeat(1024 * 1024) }))
      .expect(413);
    assert.equal(put.body.error.details.limitBytes, 1024 * 1024);
  });
});
