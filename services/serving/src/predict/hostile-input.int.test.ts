import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { createTestDatabase, type TestDatabase } from '@contender/platform/testing';
import { startTestRegistry, type TestRegistry } from '@contender/registry/testing';
import { startTestServing, type TestServing } from '../testing.js';
import { MIXED, mixedInputsModel } from '../test/mixed-inputs-model.js';
import { RegistryAdmin, TREECL2, TREECL2_FEATURES, fixture } from '../test/registry-fixtures.js';

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
const good = (seed: number) => Object.fromEntries(TREECL2_FEATURES.map((n, i) => [n, ((i * 7 + seed) % 11) / 5 - 1]));

/**
 * What a probe of serving sent, and the answers it must get: features are cached only from
 * answered predictions and within caps, numbers must fit the model's inputs, entity ids follow one
 * rule. Bodies with numbers JSON cannot round-trip (1e400) are sent as text.
 */
describe('serving refuses hostile input with the field and the reason, and leaves the feature cache as it was', () => {
  let db: TestDatabase;
  let reg: TestRegistry;
  let serving: TestServing;
  let key: string;

  const predictText = (text: string) =>
    request(serving.app).post('/predict').set(bearer(key)).set('Content-Type', 'application/json').send(text);
  const predict = (body: object) => request(serving.app).post('/predict').set(bearer(key)).send(body);
  const batch = (body: object | string) =>
    request(serving.app)
      .post('/predict/batch')
      .set(bearer(key))
      .set('Content-Type', 'application/json')
      .send(typeof body === 'string' ? body : JSON.stringify(body));
  const put = (entityId: string, body: object | string) =>
    request(serving.app)
      .put(`/features/${entityId}`)
      .set(bearer(key))
      .set('Content-Type', 'application/json')
      .send(typeof body === 'string' ? body : JSON.stringify(body));
  /** What Redis holds for the entity once every write-through sent so far has landed. */
  const cached = async (entityId: string) => {
    await serving.container.featureCache.flushPendingWrites();
    const res = await request(serving.app).get(`/features/${entityId}`).set(bearer(key));
    return res.status === 200 ? (res.body.features as Record<string, unknown>) : res.status;
  };

  before(async () => {
    db = await createTestDatabase('serving_hostile');
    reg = await startTestRegistry();
    const admin = new RegistryAdmin(reg.url, reg.adminKey);
    await admin.createModel('credit');
    await admin.setAlias('credit', 'champion', await admin.registerVersion('credit', fixture(TREECL2), { featureNames: TREECL2_FEATURES }));
    await admin.createModel('visits');
    await admin.setAlias('visits', 'champion', await admin.registerVersion('visits', mixedInputsModel(), { featureNames: MIXED.features }));
    key = await reg.createKey('predictor');
    serving = await startTestServing({ registryUrl: reg.url, apiKey: await reg.createKey('predictor'), databaseUrl: db.url });
  });
  after(async () => {
    await serving?.close();
    await reg?.close();
    await db?.drop();
  });

  describe('a rejected prediction does not overwrite cached features', () => {
    it('keeps PUT features after /predict and /predict/batch refuse junk or empty features, and writes an answered one through', async () => {
      const first = good(1);
      await put('e', { features: first }).expect(200);

      const junk = await predict({ model: 'credit', entityId: 'e', features: { junk: 'x' } }).expect(422);
      assert.equal(junk.body.error.code, 'missing_features');
      assert.deepEqual(await cached('e'), first);

      await predict({ model: 'credit', entityId: 'e', features: {} }).expect(422);
      assert.deepEqual(await cached('e'), first);

      await predict({ model: 'credit', entityId: 'e', features: { ...first, x3: 'high' } }).expect(422);
      const infinite = await predictText(`{"model":"credit","entityId":"e","features":${JSON.stringify(first).replace('}', ',"x9":1e400}')}}`).expect(422);
      assert.equal(infinite.body.error.code, 'invalid_features');
      await batch({ model: 'credit', rows: [{ entityId: 'e', features: { junk: 'x' } }] }).expect(422);
      await batch({ model: 'credit', rows: [{ entityId: 'e', features: good(5) }, { entityId: 'other', features: {} }] }).expect(422);
      assert.deepEqual(await cached('e'), first, 'a batch with one refused row writes none of its rows');
      assert.equal(await cached('other'), 404);

      // An answered prediction still writes its features through, and entity-only requests use them.
      const second = good(2);
      const answered = await predict({ model: 'credit', entityId: 'e', features: second }).expect(200);
      assert.deepEqual(await cached('e'), second);
      assert.equal((await predict({ model: 'credit', entityId: 'e' }).expect(200)).body.score, answered.body.score);
      const third = good(3);
      await batch({ model: 'credit', rows: [{ entityId: 'e', features: third }] }).expect(200);
      assert.deepEqual(await cached('e'), third);
    });
  });

  describe('non-finite and out-of-range features are refused, not scored', () => {
    const withValue = (value: string, name = 'x7') => JSON.stringify(good(4)).replace(`"${name}":`, `"${name}":${value},"was_${name}":`);

    it('answers 422 invalid_features naming the feature for 1e400, -1e400 (Infinity once parsed) and 1e308 (Infinity as float32)', async () => {
      for (const value of ['1e400', '-1e400']) {
        const res = await predictText(`{"model":"credit","features":${withValue(value)}}`).expect(422);
        assert.equal(res.body.error.code, 'invalid_features');
        assert.match(res.body.error.message, /x7 \(not a finite number/);
        assert.deepEqual(res.body.error.details.invalid.map((i: { feature: string }) => i.feature), ['x7']);
      }
      const f32 = await predictText(`{"model":"credit","features":${withValue('1e308')}}`).expect(422);
      assert.equal(f32.body.error.code, 'invalid_features');
      assert.match(f32.body.error.message, /x7 \(1e\+308 is out of range for float32 input \(at most ±3\.4028234663852886e\+38/);
    });

    it('answers 422 for an int64 feature beyond 2^53 − 1, where JSON loses precision (9007199254740993 would be scored as …992)', async () => {
      const res = await predictText('{"model":"visits","features":{"age":30,"city":"taipei","visits":9007199254740993}}').expect(422);
      assert.equal(res.body.error.code, 'invalid_features');
      assert.match(res.body.error.message, /visits \(9007199254740992 is out of range for int64 input: integers beyond ±9007199254740991/);
      await predictText('{"model":"visits","features":{"age":30,"city":"taipei","visits":9007199254740991}}').expect(200);
    });

    it('keeps null as a missing value (NaN for float inputs), as before', async () => {
      const res = await predict({ model: 'credit', features: { ...good(6), x2: null } }).expect(200);
      assert.equal(typeof res.body.score, 'number');
    });

    it('names the row in /predict/batch, and refuses 1e400 in PUT /features before anything is stored', async () => {
      const rows = `[{"features":${JSON.stringify(good(1))}},{"features":${withValue('1e400', 'x4')}},{"features":${withValue('1e308', 'x5')}}]`;
      const res = await batch(`{"model":"credit","rows":${rows}}`).expect(422);
      assert.equal(res.body.error.code, 'invalid_features');
      assert.match(res.body.error.message, /rows\[1\]: invalid features: x4 \(not a finite number/);
      // With 1e400 gone, the float32 range check of the model names the next row.
      const f32 = await batch(`{"model":"credit","rows":[{"features":${JSON.stringify(good(1))}},{"features":${withValue('1e308', 'x5')}}]}`).expect(422);
      assert.match(f32.body.error.message, /rows\[1\]: invalid features: x5 \(1e\+308 is out of range for float32 input/);
      assert.deepEqual(f32.body.error.details.rows.map((r: { row: number }) => r.row), [1]);

      const stored = await put('inf', `{"features":{"a":1,"b":1e400}}`).expect(422);
      assert.equal(stored.body.error.code, 'invalid_features');
      assert.match(stored.body.error.message, /b \(not a finite number/);
      assert.equal(await cached('inf'), 404);
      // Other schema problems in the same body: the 400 that names every bad field, 1e400's too.
      const mixed = await put('inf', `{"features":{"a":[1],"b":1e400}}`).expect(400);
      assert.match(mixed.body.error.message, /features\.a: .*features\.b:/);
    });

    it('scores cached features by the same rule: 1e308 may be cached (PUT knows no input type) but a float32 model refuses it', async () => {
      await put('big', { features: { ...good(1), x0: 1e308 } }).expect(200);
      const res = await predict({ model: 'credit', entityId: 'big' }).expect(422);
      assert.match(res.body.error.message, /x0 \(1e\+308 is out of range for float32 input/);
    });
  });

  describe('entity ids: 1–256 characters, no control characters, on every route', () => {
    it('answers 400 naming the field for a NUL (or another control character) instead of a 500 or a silently changed id', async () => {
      const list = await request(serving.app).get('/predictions?entityId=a%00b').set(bearer(key)).expect(400);
      assert.equal(list.body.error.code, 'validation_failed');
      assert.match(list.body.error.message, /entityId: must not contain control characters \(U\+0000–U\+001F, U\+007F\)/);

      const one = await predict({ model: 'credit', entityId: 'a\u0000b', features: good(1) }).expect(400);
      assert.match(one.body.error.message, /entityId: must not contain control characters/);
      const del = await predict({ model: 'credit', entityId: 'a\u007fb', features: good(1) }).expect(400);
      assert.match(del.body.error.message, /entityId: must not contain control characters/);

      const rows = await batch({ model: 'credit', rows: [{ entityId: 'ok', features: good(1) }, { entityId: 'line\nbreak', features: good(1) }] }).expect(400);
      assert.match(rows.body.error.message, /rows\.1\.entityId: must not contain control characters/);

      const putNul = await put('a%00b', { features: good(1) }).expect(400);
      assert.match(putNul.body.error.message, /entityId: must not contain control characters/);
      const getNul = await request(serving.app).get('/features/a%00b').set(bearer(key)).expect(400);
      assert.match(getNul.body.error.message, /entityId: must not contain control characters/);
      assert.equal(await cached('ab'), 404);

      const long = await predict({ model: 'credit', entityId: 'e'.repeat(257), features: good(1) }).expect(400);
      assert.match(long.body.error.message, /entityId:/);
      await predict({ model: 'credit', entityId: 'ünïcode ✓ and spaces', features: good(1) }).expect(200);
    });

    it('documents the rule in /openapi.json for the path, the query and the bodies', async () => {
      const doc = (await request(serving.app).get('/openapi.json').expect(200)).body;
      const pattern = '^[^\\u0000-\\u001f\\u007f]*$';
      assert.equal(doc.paths['/features/{entityId}'].put.parameters[0].schema.pattern, pattern);
      assert.equal(doc.paths['/predictions'].get.parameters.find((p: { name: string }) => p.name === 'entityId').schema.pattern, pattern);
      assert.equal(doc.paths['/predict'].post.requestBody.content['application/json'].schema.properties.entityId.pattern, pattern);
    });
  });

  describe('cached features are capped per entity', () => {
    it('answers 413 naming FEATURE_MAX_BYTES for a PUT of about 1 MB, and stores nothing', async () => {
      const features = Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`f${i}`, 'x'.repeat(4_000)]));
      const res = await put('huge', { features }).expect(413);
      assert.equal(res.body.error.code, 'features_too_large');
      assert.match(res.body.error.message, /features: \d+ bytes of JSON, over FEATURE_MAX_BYTES \(16384\)/);
      assert.equal(res.body.error.details.limit, 'FEATURE_MAX_BYTES');
      assert.equal(await cached('huge'), 404);
    });

    it('answers 400 naming FEATURE_MAX_COUNT for more than 512 features, and stores nothing', async () => {
      const features = Object.fromEntries(Array.from({ length: 513 }, (_, i) => [`f${i}`, i]));
      const res = await put('wide', { features }).expect(400);
      assert.equal(res.body.error.code, 'too_many_features');
      assert.match(res.body.error.message, /513 features, over FEATURE_MAX_COUNT \(512\)/);
      assert.equal(await cached('wide'), 404);
      await put('wide', { features: Object.fromEntries(Array.from({ length: 512 }, (_, i) => [`f${i}`, i])) }).expect(200);
    });

    it('holds what /predict and /predict/batch write through to the same caps', async () => {
      const padded = { ...good(1), note: 'x'.repeat(4_000), note2: 'y'.repeat(4_000), note3: 'z'.repeat(4_000), note4: 'w'.repeat(4_000), note5: 'v'.repeat(1_000) };
      const res = await predict({ model: 'credit', entityId: 'padded', features: padded }).expect(413);
      assert.equal(res.body.error.code, 'features_too_large');
      const rows = await batch({ model: 'credit', rows: [{ entityId: 'p0', features: good(1) }, { entityId: 'p1', features: padded }] }).expect(413);
      assert.match(rows.body.error.message, /rows\[1\]\.features: \d+ bytes of JSON, over FEATURE_MAX_BYTES \(16384\)/);
      assert.equal(await cached('padded'), 404);
      assert.equal(await cached('p0'), 404);
      // Without an entityId nothing is cached, so only the 1 MiB body limit applies.
      await predict({ model: 'credit', features: padded }).expect(200);
    });
  });
});
