import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import ort from 'onnxruntime-node';
import pg from 'pg';
import request from 'supertest';
import { createTestDatabase, type TestDatabase } from '@contender/platform/testing';
import { startTestRegistry, type TestRegistry } from '@contender/registry/testing';
import { startTestServing, type TestServing } from '../testing.js';
import { metricValue } from '../test/metric-value.js';
import { MIXED, mixedInputsModel } from '../test/mixed-inputs-model.js';
import { RegistryAdmin, TREECL2, TREECL2_FEATURES, XGB_REGRESSOR, fixture } from '../test/registry-fixtures.js';

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

/** Deterministic pseudo-random rows, so a failure can be reproduced. */
function rows(n: number, width: number, seed = 1): number[][] {
  let s = seed;
  const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 4 - 2;
  return Array.from({ length: n }, () => Array.from({ length: width }, next));
}
const named = (names: string[], values: number[]) => Object.fromEntries(names.map((n, i) => [n, values[i]!]));

describe('POST /predict and the feature cache against a real registry', () => {
  let db: TestDatabase;
  let reg: TestRegistry;
  let admin: RegistryAdmin;
  let serving: TestServing;
  let predictor: string;
  let reader: string;
  let scientist: string;
  let pool: pg.Pool;
  let answered = 0;

  const predict = (body: unknown, key = predictor) =>
    request(serving.app)
      .post('/predict')
      .set(bearer(key))
      .send(body as object)
      .on('response', (res: { status: number }) => {
        if (res.status === 200) answered++;
      });

  before(async () => {
    db = await createTestDatabase('serving_predict');
    reg = await startTestRegistry();
    admin = new RegistryAdmin(reg.url, reg.adminKey);
    await admin.createModel('credit');
    const v1 = await admin.registerVersion('credit', fixture(TREECL2), { featureNames: TREECL2_FEATURES });
    await admin.setAlias('credit', 'champion', v1);
    await admin.createModel('price', 'regression');
    const r1 = await admin.registerVersion('price', fixture(XGB_REGRESSOR), { featureNames: ['a', 'b', 'c', 'd'] });
    await admin.setAlias('price', 'champion', r1);
    await admin.createModel('visits');
    const m1 = await admin.registerVersion('visits', mixedInputsModel(), { featureNames: MIXED.features });
    await admin.setAlias('visits', 'champion', m1);
    predictor = await reg.createKey('predictor');
    reader = await reg.createKey('reader');
    scientist = await reg.createKey('data-scientist');
    serving = await startTestServing({ registryUrl: reg.url, apiKey: await reg.createKey('predictor'), databaseUrl: db.url });
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
  });
  after(async () => {
    await serving?.close();
    await pool?.end();
    await reg?.close();
    await db?.drop();
  });

  it('answers with the champion, and its score equals onnxruntime\'s own output for the real sklearn-onnx model', async () => {
    const session = await ort.InferenceSession.create(fixture(TREECL2));
    const data = rows(25, 20, 7);
    const expected = await session.run({ input: new ort.Tensor('float32', Float32Array.from(data.flat()), [25, 20]) });
    const proba = expected.proba_2!.data as Float32Array;
    const labels = expected.label_2!.data as BigInt64Array;
    for (let i = 0; i < data.length; i++) {
      const res = await predict({ model: 'credit', features: named(TREECL2_FEATURES, data[i]!) }).expect(200);
      assert.equal(res.body.model, 'credit');
      assert.equal(res.body.version, 1);
      assert.equal(res.body.variant, 'champion');
      assert.equal(res.body.score, proba[i * 2 + 1], `row ${i}`);
      assert.equal(res.body.label, Number(labels[i]), `row ${i}: label at threshold 0.5 agrees with the model's own label`);
      assert.match(res.body.predictionId, /^[0-9a-f-]{36}$/);
      assert.equal(res.body.fallback, undefined);
    }
    await session.release();
  });

  it('scores a regressor with its first float output and gives no label', async () => {
    const session = await ort.InferenceSession.create(fixture(XGB_REGRESSOR));
    const x = [0.5, -1.25, 3, 0.75];
    const expected = (await session.run({ X: new ort.Tensor('float32', Float32Array.from(x), [1, 4]) })).variable!.data as Float32Array;
    const res = await predict({ model: 'price', features: { a: x[0], b: x[1], c: x[2], d: x[3] } }).expect(200);
    assert.equal(res.body.score, expected[0]);
    assert.equal('label' in res.body, false);
    await session.release();
  });

  it('feeds a model with one input per feature, numeric and string, like an skl2onnx pipeline', async () => {
    const session = await ort.InferenceSession.create(mixedInputsModel());
    const cases = [
      { age: 30, city: 'tainan', visits: 2 },
      { age: 50, city: 'elsewhere', visits: 0 },
    ];
    for (const f of cases) {
      const expected = (
        await session.run({
          age: new ort.Tensor('float32', Float32Array.of(f.age), [1, 1]),
          city: new ort.Tensor('string', [f.city], [1, 1]),
          visits: new ort.Tensor('int64', BigInt64Array.of(BigInt(f.visits)), [1, 1]),
        })
      ).probabilities!.data as Float32Array;
      const res = await predict({ model: 'visits', features: f }).expect(200);
      assert.equal(res.body.score, expected[1]);
      const z = MIXED.coefficients[0]! * f.age + MIXED.coefficients[1]! * (MIXED.cities[f.city] ?? 0) + MIXED.coefficients[2]! * f.visits + MIXED.intercept;
      assert.ok(Math.abs(res.body.score - 1 / (1 + Math.exp(-z))) < 1e-6);
    }
    // A linear model has no answer for a missing value: NaN out, so 422 (not a 503 or a NaN score).
    const unscorable = await predict({ model: 'visits', features: { age: null, city: 'taipei', visits: 7 } }).expect(422);
    assert.equal(unscorable.body.error.code, 'unscorable_features');
    const wrong = await predict({ model: 'visits', features: { age: 30, city: 7, visits: 1.5 } }).expect(422);
    assert.equal(wrong.body.error.code, 'invalid_features');
    assert.match(wrong.body.error.message, /city \(expected a string for string input, got a number\), visits \(expected an integer for int64 input, got 1.5\)/);
    await session.release();
  });

  it('treats null as a missing value (NaN) and still answers', async () => {
    // Seed 1, x18: a row whose trees send NaN another way than 0 (most rows do not tell them apart).
    const values = rows(1, 20, 1)[0]!;
    const features = named(TREECL2_FEATURES, values) as Record<string, number | null>;
    features.x18 = null;
    const res = await predict({ model: 'credit', features }).expect(200);
    // onnxruntime's own score for the same row with NaN in x18, single-threaded like serving's.
    const session = await ort.InferenceSession.create(fixture(TREECL2), { intraOpNumThreads: 1 });
    const scoreWith = async (x18: number) => {
      const row = Float32Array.from(values.map((v, i) => (i === 18 ? x18 : v)));
      return ((await session.run({ input: new ort.Tensor('float32', row, [1, 20]) })).proba_2!.data as Float32Array)[1]!;
    };
    const withNaN = await scoreWith(Number.NaN);
    assert.notEqual(withNaN, await scoreWith(0), 'this row tells NaN from 0 (else the test could not tell them apart)');
    assert.equal(res.body.score, withNaN);
    await session.release();
  });

  it('honours the caller\'s X-Request-Id and makes one when there is none', async () => {
    const features = named(TREECL2_FEATURES, rows(1, 20)[0]!);
    const mine = await predict({ model: 'credit', features }).set('X-Request-Id', 'req-abc.123').expect(200);
    assert.equal(mine.headers['x-request-id'], 'req-abc.123');
    const made = await predict({ model: 'credit', features }).expect(200);
    assert.match(made.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/);
    const bad = await request(serving.app).post('/predict').set(bearer(predictor)).set('X-Request-Id', 'r-1').send({}).expect(400);
    assert.equal(bad.body.error.requestId, 'r-1');
  });

  it('writes request features through to the cache and answers entity-only requests from it', async () => {
    const features = named(TREECL2_FEATURES, rows(1, 20, 11)[0]!);
    const first = await predict({ model: 'credit', entityId: 'cust-1', features }).expect(200);
    // The write-through is fire-and-forget: poll until it has landed.
    const deadline = Date.now() + 5_000;
    let cached: request.Response;
    for (;;) {
      cached = await request(serving.app).get('/features/cust-1').set(bearer(predictor));
      if (cached.status === 200 || Date.now() > deadline) break;
    }
    assert.equal(cached.status, 200);
    assert.deepEqual(cached.body.features, features);
    assert.ok(Date.parse(cached.body.updatedAt) <= Date.now());
    assert.ok(cached.body.expiresInSeconds > 86_000 && cached.body.expiresInSeconds <= 86_400);
    const second = await predict({ model: 'credit', entityId: 'cust-1' }).expect(200);
    assert.equal(second.body.score, first.body.score);
  });

  it('stores features pushed with PUT /features/:entityId and reads them back with their write time', async () => {
    const features = named(TREECL2_FEATURES, rows(1, 20, 12)[0]!);
    const put = await request(serving.app).put('/features/cust-2').set(bearer(predictor)).send({ features }).expect(200);
    assert.equal(put.body.entityId, 'cust-2');
    const got = await request(serving.app).get('/features/cust-2').set(bearer(predictor)).expect(200);
    assert.deepEqual(got.body.features, features);
    assert.equal(got.body.updatedAt, put.body.updatedAt);
    const res = await predict({ model: 'credit', entityId: 'cust-2' }).expect(200);
    const direct = await predict({ model: 'credit', features }).expect(200);
    assert.equal(res.body.score, direct.body.score);
  });

  it('scores a batch with the same routing per row and keeps the rows in order', async () => {
    const data = rows(300, 20, 5);
    const res = await request(serving.app)
      .post('/predict/batch')
      .set(bearer(predictor))
      .send({ model: 'credit', rows: data.map((r, i) => ({ entityId: `b-${i}`, features: named(TREECL2_FEATURES, r) })) })
      .expect(200);
    assert.equal(res.body.predictions.length, 300);
    answered += 300;
    const single = await predict({ model: 'credit', features: named(TREECL2_FEATURES, data[123]!) }).expect(200);
    assert.equal(res.body.predictions[123].score, single.body.score);
    assert.equal(res.body.predictions[123].entityId, 'b-123');
    assert.equal(new Set(res.body.predictions.map((p: { predictionId: string }) => p.predictionId)).size, 300);
  });

  describe('refuses bad requests with the field and the reason', () => {
    const full = () => named(TREECL2_FEATURES, rows(1, 20, 2)[0]!);

    it('names every missing feature (422 missing_features)', async () => {
      const features = full();
      delete features.x2;
      delete features.x17;
      const res = await predict({ model: 'credit', features }).expect(422);
      assert.equal(res.body.error.code, 'missing_features');
      assert.match(res.body.error.message, /x2, x17/);
      assert.deepEqual(res.body.error.details.missing, ['x2', 'x17']);
    });

    it('refuses a string for a numeric input (422 invalid_features)', async () => {
      const res = await predict({ model: 'credit', features: { ...full(), x4: 'high' } }).expect(422);
      assert.equal(res.body.error.code, 'invalid_features');
      assert.match(res.body.error.message, /x4 \(expected a number/);
    });

    it('answers 422 features_not_found for an entity with nothing cached', async () => {
      const res = await predict({ model: 'credit', entityId: 'nobody' }).expect(422);
      assert.equal(res.body.error.code, 'features_not_found');
      assert.match(res.body.error.message, /"nobody"/);
    });

    it('answers 404 model_not_found for a model that is not served', async () => {
      const res = await predict({ model: 'nope', features: full() }).expect(404);
      assert.equal(res.body.error.code, 'model_not_found');
      assert.match(res.body.error.message, /model: "nope"/);
    });

    it('answers 400 validation_failed naming the field for a schema violation', async () => {
      const noModel = await predict({ features: full() }).expect(400);
      assert.equal(noModel.body.error.code, 'validation_failed');
      assert.match(noModel.body.error.message, /model:/);
      const typo = await predict({ model: 'credit', feature: full() }).expect(400);
      assert.match(typo.body.error.message, /feature/);
      const neither = await predict({ model: 'credit' }).expect(400);
      assert.match(neither.body.error.message, /features: features are required when there is no entityId/);
      const badValue = await predict({ model: 'credit', features: { ...full(), x1: [1] } }).expect(400);
      assert.match(badValue.body.error.message, /features\.x1/);
    });

    it('answers 400 malformed_json for a body that is not JSON', async () => {
      const res = await request(serving.app).post('/predict').set(bearer(predictor)).set('Content-Type', 'application/json').send('{"model": ').expect(400);
      assert.equal(res.body.error.code, 'malformed_json');
      assert.match(res.body.error.message, /not valid JSON/);
    });

    it('answers 413 for a body over 1 MiB', async () => {
      const huge = { model: 'credit', features: { ...full(), pad: 'x'.repeat(1024 * 1024) } };
      const res = await predict(huge).expect(413);
      assert.equal(res.body.error.code, 'payload_too_large');
      assert.match(res.body.error.message, /1048576 bytes/);
    });

    it('answers a chunked stream over 1 MiB with 413 and closes the connection instead of reading the rest', async () => {
      const { hostname, port } = new URL(serving.url);
      const chunk = Buffer.alloc(64 * 1024, 0x20); // spaces: valid JSON whitespace, so only the size is wrong
      const framed = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
      const maxBytes = 256 * 1024 * 1024;
      const outcome = await new Promise<{ response: string; sentBytes: number }>((resolve) => {
        const socket = net.connect(Number(port), hostname);
        let response = '';
        let sentBytes = 0;
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          socket.destroy();
          resolve({ response, sentBytes });
        };
        // Keeps sending after the answer: only the server closing the connection ends the stream.
        socket.on('data', (d) => {
          response += d.toString('latin1');
        });
        socket.on('close', finish);
        socket.on('error', finish);
        const pump = () => {
          while (!done && sentBytes < maxBytes) {
            sentBytes += chunk.length;
            if (!socket.write(framed)) return void socket.once('drain', pump);
          }
        };
        socket.on('connect', () => {
          socket.write(`POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${predictor}\r\nTransfer-Encoding: chunked\r\n\r\n`);
          pump();
        });
      });
      assert.match(outcome.response, /^HTTP\/1\.1 413 /, outcome.response);
      assert.match(outcome.response, /\r\nconnection: close\r\n/i);
      assert.ok(outcome.sentBytes < 32 * 1024 * 1024, `the client pushed ${outcome.sentBytes} bytes before the connection closed (limit 1 MiB)`);
    });

    it('answers 415 for a body that is not declared as JSON', async () => {
      const res = await request(serving.app).post('/predict').set(bearer(predictor)).set('Content-Type', 'text/plain').send('model=credit').expect(415);
      assert.equal(res.body.error.code, 'unsupported_media_type');
    });

    it('answers 401 without a key or with an unknown key, 403 for a reader', async () => {
      const none = await request(serving.app).post('/predict').send({ model: 'credit', features: full() }).expect(401);
      assert.equal(none.body.error.code, 'unauthorized');
      const unknown = await predict({ model: 'credit', features: full() }, 'ctk_not_a_key_of_this_registry').expect(401);
      assert.match(unknown.body.error.message, /unknown, revoked or inactive/);
      const malformed = await predict({ model: 'credit', features: full() }, 'ctk_not_a_key').expect(401);
      assert.match(malformed.body.error.message, /malformed API key: platform keys are "ctk_" followed by 12–256/);
      const weak = await predict({ model: 'credit', features: full() }, reader).expect(403);
      assert.match(weak.body.error.message, /needs role predictor or above; key ".*" has role reader/);
    });

    it('lets only data scientists force a variant, and only one that is loaded', async () => {
      const denied = await predict({ model: 'credit', features: full(), variant: 'champion' }).expect(403);
      assert.match(denied.body.error.message, /forcing a variant needs role data-scientist/);
      const forced = await predict({ model: 'credit', features: full(), variant: 'champion' }, scientist).expect(200);
      assert.equal(forced.body.variant, 'champion');
      const none = await predict({ model: 'credit', features: full(), variant: 'challenger' }, scientist).expect(422);
      assert.equal(none.body.error.code, 'variant_unavailable');
    });

    it('refuses a batch over MAX_BATCH_ROWS and lists every row with missing features', async () => {
      const tooMany = await request(serving.app)
        .post('/predict/batch')
        .set(bearer(predictor))
        .send({ model: 'credit', rows: Array.from({ length: 10_001 }, (_, i) => ({ entityId: `e${i}` })) })
        .expect(413);
      assert.equal(tooMany.body.error.code, 'too_many_rows');
      assert.match(tooMany.body.error.message, /rows: at most 10000 rows/);
      assert.equal(tooMany.body.error.details.limit, 10_000);
      const partial = full();
      delete partial.x0;
      const res = await request(serving.app)
        .post('/predict/batch')
        .set(bearer(predictor))
        .send({ model: 'credit', rows: [{ features: full() }, { features: partial }, { features: { ...full(), x9: 'a' } }] })
        .expect(422);
      assert.equal(res.body.error.code, 'missing_features');
      assert.match(res.body.error.message, /rows\[1\]: missing features: x0 \| rows\[2\]: invalid features: x9/);
      const uncached = await request(serving.app)
        .post('/predict/batch')
        .set(bearer(predictor))
        .send({ model: 'credit', rows: [{ entityId: 'ghost-1' }, { features: full() }, { entityId: 'ghost-2' }] })
        .expect(422);
      assert.equal(uncached.body.error.code, 'features_not_found');
      assert.match(uncached.body.error.message, /rows\[0\] \(ghost-1\), rows\[2\] \(ghost-2\)/);
    });

    it('answers 404 for GET /features of an unknown entity and 400 for PUT without features', async () => {
      const missing = await request(serving.app).get('/features/unknown-entity').set(bearer(predictor)).expect(404);
      assert.equal(missing.body.error.code, 'features_not_found');
      const bad = await request(serving.app).put('/features/e1').set(bearer(predictor)).send({ feature: {} }).expect(400);
      assert.match(bad.body.error.message, /features/);
    });
  });

  it('serves /openapi.json, /readyz and /metrics with the prediction series', async () => {
    const doc = await request(serving.app).get('/openapi.json').expect(200);
    assert.ok(doc.body.paths['/predict'].post);
    assert.ok(doc.body.paths['/features/{entityId}'].put);
    const ready = await request(serving.app).get('/readyz').expect(200);
    assert.equal(ready.body.checks.models.ok, true);
    const metrics = (await request(serving.app).get('/metrics').expect(200)).text;
    assert.ok(metricValue(metrics, 'serving_predictions_total', { model: 'credit', variant: 'champion', outcome: 'ok' })! > 0);
    assert.equal(metricValue(metrics, 'serving_model_info', { model: 'credit', version: '1', alias: 'champion' }), 1);
    assert.ok(metricValue(metrics, 'serving_http_request_duration_seconds_count', { method: 'POST', route: '/predict', status: '200' })! > 0);
    assert.ok(metricValue(metrics, 'serving_feature_cache_requests_total', { result: 'hit' })! > 0);
    assert.ok(metricValue(metrics, 'serving_prediction_duration_seconds_count', { model: 'credit', variant: 'champion' })! > 0);
  });

  it('records exactly one prediction row per answer', async () => {
    await serving.container.predictionLog.flush();
    const { rows: r } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM serving.prediction');
    assert.equal(r[0]!.n, answered);
    const one = await predict({ model: 'credit', entityId: `row-${randomUUID()}`, features: named(TREECL2_FEATURES, rows(1, 20, 99)[0]!) })
      .set('X-Request-Id', 'logged-1')
      .expect(200);
    await serving.container.predictionLog.flush();
    const logged = await pool.query('SELECT request_id, model, version, variant, score, label, fallback FROM serving.prediction WHERE id = $1', [
      one.body.predictionId,
    ]);
    assert.deepEqual(logged.rows[0], {
      request_id: 'logged-1',
      model: 'credit',
      version: 1,
      variant: 'champion',
      score: one.body.score,
      label: one.body.label,
      fallback: false,
    });
  });
});
