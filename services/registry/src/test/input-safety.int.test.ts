import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import request from 'supertest';
import { startTestRegistry, type TestRegistry } from '../testing.js';
import { artifactKey } from '../features/versions/version-uploader.js';
import { XGB_REGRESSOR, auth, createModel, fixture, uploadVersion } from './fixtures.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** `{"a":{"a":…}}` nested `depth` deep, as text (JSON.stringify itself fails on it). */
const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe('input the registry refuses before it reaches SQL', () => {
  let reg: TestRegistry;
  let key: string;
  const versionRows = () => reg.container.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM registry.model_version').then((r) => r.rows[0]!.n);

  before(async () => {
    reg = await startTestRegistry();
    key = await reg.createKey('data-scientist');
    await createModel(reg.app, key, { name: 'a', task: 'regression' }).expect(201);
    await createModel(reg.app, key, { name: 'b', task: 'regression' }).expect(201);
  });
  after(() => reg.close());

  it('answers a NUL byte in a model name, on every route that takes one, with 400 naming the field', async () => {
    for (const path of ['/models/a%00', '/models/a%00/events', '/models/a%00/versions', '/models/a%00/versions/1', '/models/a%00/versions/1/artifact']) {
      const res = await request(reg.app).get(`/api/v1${path}`).set(auth(key));
      assert.equal(res.status, 400, `${path}: ${res.text}`);
      assert.equal(res.body.error.code, 'validation_failed');
      assert.match(res.body.error.message, /^name: must not contain NUL/);
    }
    const put = await request(reg.app).put('/api/v1/models/a%00/traffic').set(auth(key)).send({ challengerPercent: 0, mode: 'split' });
    assert.equal(put.status, 400, put.text);
  });

  it('answers a NUL byte in a query string or an alias with 400 naming it', async () => {
    const cursor = await request(reg.app).get('/api/v1/models?after=a%00').set(auth(key)).expect(400);
    assert.match(cursor.body.error.message, /^after: must not contain NUL/);
    const events = await request(reg.app).get('/api/v1/models/a/events?after=a%00').set(auth(key)).expect(400);
    assert.match(events.body.error.message, /^after: /);
    const versions = await request(reg.app).get('/api/v1/models/a/versions?after=a%00').set(auth(key)).expect(400);
    assert.match(versions.body.error.message, /^after: /);
    const deployments = await request(reg.app).get('/api/v1/deployments?models=a%00').set(auth(key)).expect(400);
    assert.match(deployments.body.error.message, /^models: must not contain NUL/);
    const reason = await request(reg.app).delete('/api/v1/models/a/aliases/challenger?reason=x%00').set(auth(key)).expect(400);
    assert.match(reason.body.error.message, /^reason: must not contain NUL/);
    const alias = await request(reg.app).put('/api/v1/models/a/aliases/c%00').set(auth(key)).send({ version: 1 }).expect(400);
    assert.match(alias.body.error.message, /^alias: /);
  });

  it('answers a NUL anywhere in a JSON body, key or value, with 400 naming the field', async () => {
    const value = await createModel(reg.app, key, { name: 'c', task: 'regression', description: 'x\u0000y' }).expect(400);
    assert.match(value.body.error.message, /^description: must not contain NUL/);
    const nestedKey = await request(reg.app).put('/api/v1/models/a/traffic').set(auth(key)).send({ challengerPercent: 0, mode: 'split', extra: { 'k\u0000': 1 } }).expect(400);
    assert.match(nestedKey.body.error.message, /^extra\.k\\u0000: key must not contain NUL/);
    const keyName = await request(reg.app).post('/api/v1/api-keys').set(auth(reg.adminKey)).send({ name: 'al\u0000ice', role: 'reader' }).expect(400);
    assert.match(keyName.body.error.message, /^name: /);
    const introspect = await request(reg.app).post('/api/v1/auth/introspect').send({ key: 'ctk_\u0000' }).expect(400);
    assert.match(introspect.body.error.message, /^key: must not contain NUL/);
  });

  it('answers a JSON body nested past 32 levels with 400, not a 500', async () => {
    const res = await request(reg.app).post('/api/v1/models').set(auth(key)).set('content-type', 'application/json').send(`{"name":"d","task":"regression","x":${nested(5000)}}`).expect(400);
    assert.match(res.body.error.message, /^x\.a\.a\.…: nested deeper than 32 levels/);
  });

  it('answers a reference profile nested 5,000 deep with 400 naming the field, and leaves no row and no object', async () => {
    const bytes = fixture(XGB_REGRESSOR);
    const before = await versionRows();
    const res = await uploadVersion(reg.app, key, 'a', bytes, `{"featureNames":["f0","f1","f2","f3"],"referenceProfile":${nested(5000)}}`).expect(400);
    assert.equal(res.body.error.code, 'validation_failed');
    assert.match(res.body.error.message, /^metadata\.referenceProfile\.a\.a\.…: nested deeper than 32 levels/);
    assert.equal(await versionRows(), before);
    assert.equal(await reg.container.storage.stat(artifactKey('a', sha256(bytes))), null);
  });

  it("removes a failed upload's own object even when another model holds the same bytes", async () => {
    const bytes = fixture(XGB_REGRESSOR);
    const meta = { featureNames: ['f0', 'f1', 'f2', 'f3'] };
    await uploadVersion(reg.app, key, 'a', bytes, meta).expect(201);
    // A failure after the object was stored: the database refuses this one row.
    await reg.container.pool.query(`
      CREATE FUNCTION registry.refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.description = 'refuse me' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER refuse_marked BEFORE INSERT ON registry.model_version FOR EACH ROW EXECUTE FUNCTION registry.refuse_marked();`);
    try {
      await uploadVersion(reg.app, key, 'b', bytes, { ...meta, description: 'refuse me' }).expect(500);
    } finally {
      await reg.container.pool.query('DROP TRIGGER refuse_marked ON registry.model_version; DROP FUNCTION registry.refuse_marked()');
    }
    assert.equal(await reg.container.storage.stat(artifactKey('b', sha256(bytes))), null, "b's object was left behind");
    assert.notEqual(await reg.container.storage.stat(artifactKey('a', sha256(bytes))), null, "a's object must stay: version 1 of a refers to it");
  });
});
