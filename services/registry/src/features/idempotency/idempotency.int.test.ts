import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { startTestRegistry, type TestRegistry } from '../../testing.js';
import { TREECL2, TREECL2_FEATURES, auth, createModel, fixture, uploadVersion } from '../../test/fixtures.js';

describe('Idempotency-Key on model versions, promotion and rollback', () => {
  let reg: TestRegistry;
  let key: string;
  let otherKey: string;
  const bytes = fixture(TREECL2);
  const q = async (sql: string, params: unknown[] = []) => (await reg.container.pool.query<{ n: number }>(sql, params)).rows[0]!.n;
  const versions = () => q('SELECT count(*)::int AS n FROM registry.model_version');
  const events = (action: string) => q('SELECT count(*)::int AS n FROM registry.audit_event WHERE action = $1', [action]);
  const upload = (k: string, idem: string | undefined, metrics: Record<string, number>) => {
    const r = uploadVersion(reg.app, k, 'credit', bytes, { featureNames: TREECL2_FEATURES, metrics });
    return idem ? r.set('Idempotency-Key', idem) : r;
  };
  const post = (path: string, body: object, idem?: string, k = key) => {
    const r = request(reg.app).post(`/api/v1/models/credit/${path}`).set(auth(k));
    return (idem ? r.set('Idempotency-Key', idem) : r).send(body);
  };
  const put = (path: string, body: object) => request(reg.app).put(`/api/v1/models/credit/${path}`).set(auth(key)).send(body);

  before(async () => {
    reg = await startTestRegistry();
    key = await reg.createKey('data-scientist', 'scheduler');
    otherKey = await reg.createKey('data-scientist', 'alice');
    await createModel(reg.app, key, { name: 'credit', task: 'binary_classification' }).expect(201);
  });
  after(() => reg.close());

  it('answers a repeated version upload with the first version and registers nothing more', async () => {
    const first = await upload(key, 'register-1', { auc: 0.7 }).expect(201);
    const again = await upload(key, 'register-1', { auc: 0.7 }).expect(201);
    assert.equal(again.text, first.text, 'the replay is the first answer, byte for byte');
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(await versions(), 1);
    assert.equal(await events('version.registered'), 1);

    const other = await upload(key, 'register-1', { auc: 0.8 }).expect(409);
    assert.equal(other.body.error.code, 'idempotency_key_reused');
    assert.equal(other.body.error.details.firstUsedFor, 'POST /api/v1/models/credit/versions');
    assert.equal(await versions(), 1);

    const row = (await reg.container.pool.query('SELECT created_at, expires_at FROM registry.idempotency_key WHERE key = $1', ['register-1'])).rows[0];
    assert.ok(row.expires_at.getTime() - row.created_at.getTime() >= 24 * 3600 * 1000, 'kept at least 24 h');
  });

  it('makes one version from concurrent uploads with one key, all answered alike', async () => {
    const before = await versions();
    const all = await Promise.all(Array.from({ length: 5 }, () => upload(key, 'register-race', { auc: 0.71 })));
    assert.deepEqual(all.map((r) => r.status), Array(5).fill(201));
    for (const r of all) assert.deepEqual(r.body, all[0]!.body);
    assert.equal(await versions(), before + 1);
  });

  it('keeps keys per API key: another key with the same Idempotency-Key is another request', async () => {
    const before = await versions();
    const mine = await upload(otherKey, 'register-1', { auc: 0.7 }).expect(201);
    assert.equal(mine.headers['idempotent-replayed'], undefined);
    assert.match(mine.body.createdBy, /^alice#\d+$/);
    assert.equal(await versions(), before + 1);
  });

  it('forgets an answer once it has expired, and purges expired answers as new keys arrive', async () => {
    await reg.container.pool.query(
      `INSERT INTO registry.idempotency_key (api_key_id, key, method, path, fingerprint, status, response, created_at, expires_at)
       SELECT 999, 'old-' || i, 'POST', '/x', 'f', 201, '{}', now() - interval '2 days', now() - interval '1 day' FROM generate_series(1, 3) i`,
    );
    await reg.container.pool.query("UPDATE registry.idempotency_key SET expires_at = now() - interval '1 second' WHERE key = 'register-race'");
    const before = await versions();
    const fresh = await upload(key, 'register-race', { auc: 0.71 }).expect(201);
    assert.equal(fresh.headers['idempotent-replayed'], undefined);
    assert.equal(await versions(), before + 1);
    assert.equal(await q("SELECT count(*)::int AS n FROM registry.idempotency_key WHERE key LIKE 'old-%'"), 0);
    const again = await upload(key, 'register-race', { auc: 0.71 }).expect(201);
    assert.deepEqual(again.body, fresh.body);
  });

  it('answers a repeated promotion with the first answer; the same key with another body is 409', async () => {
    await put('aliases/champion', { version: 1 }).expect(200);
    await put('aliases/challenger', { version: 2 }).expect(200);
    const first = await post('promote', { reason: 'AUC +0.01' }, 'promote-1').expect(200);
    assert.equal(first.body.aliases.champion, 2);
    const promotions = await events('model.promoted');
    const again = await post('promote', { reason: 'AUC +0.01' }, 'promote-1').expect(200);
    assert.deepEqual(again.body, first.body);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(await events('model.promoted'), promotions);
    // Without the key the same call is a second promotion, which has nothing to promote.
    assert.equal((await post('promote', { reason: 'AUC +0.01' }).expect(409)).body.error.code, 'no_challenger');

    const other = await post('promote', { reason: 'something else' }, 'promote-1').expect(409);
    assert.equal(other.body.error.code, 'idempotency_key_reused');
    const elsewhere = await post('rollback', { reason: 'AUC +0.01' }, 'promote-1').expect(409);
    assert.equal(elsewhere.body.error.code, 'idempotency_key_reused');
    assert.match(elsewhere.body.error.message, /was already used for POST \/api\/v1\/models\/credit\/promote;/);
  });

  it('answers a repeated rollback with the first answer instead of walking further back', async () => {
    const rollbacks = await events('model.rolled_back');
    const first = await post('rollback', { reason: 'latency' }, 'rollback-1').expect(200);
    assert.equal(first.body.aliases.champion, 1);
    const again = await post('rollback', { reason: 'latency' }, 'rollback-1').expect(200);
    assert.deepEqual(again.body, first.body);
    assert.equal(await events('model.rolled_back'), rollbacks + 1);
    const other = await post('rollback', {}, 'rollback-1').expect(409);
    assert.equal(other.body.error.code, 'idempotency_key_reused');
  });

  it('lets concurrent promotions with one key promote once, every caller getting the first answer', async () => {
    await put('aliases/challenger', { version: 3 }).expect(200);
    const promotions = await events('model.promoted');
    const all = await Promise.all(Array.from({ length: 4 }, () => post('promote', { reason: 'race' }, 'promote-race')));
    assert.deepEqual(all.map((r) => r.status), Array(4).fill(200));
    for (const r of all) assert.deepEqual(r.body, all[0]!.body);
    assert.equal(all[0]!.body.aliases.champion, 3);
    assert.equal(await events('model.promoted'), promotions + 1);

    const rollbacks = await events('model.rolled_back');
    const rb = await Promise.all(Array.from({ length: 4 }, () => post('rollback', { reason: 'race' }, 'rollback-race')));
    assert.deepEqual(rb.map((r) => r.status), Array(4).fill(200));
    for (const r of rb) assert.deepEqual(r.body, rb[0]!.body);
    assert.equal(await events('model.rolled_back'), rollbacks + 1);
  });

  it('keeps no answer for a refused request, so the repeat is tried again', async () => {
    const refused = await post('promote', { reason: 'too early' }, 'promote-later').expect(409);
    assert.equal(refused.body.error.code, 'no_challenger');
    await put('aliases/challenger', { version: 2 }).expect(200);
    const ok = await post('promote', { reason: 'too early' }, 'promote-later').expect(200);
    assert.equal(ok.body.aliases.champion, 2);
  });

  it('answers a repeated model creation with the first answer', async () => {
    const first = await createModel(reg.app, key, { name: 'once', task: 'regression' }).set('Idempotency-Key', 'model-1').expect(201);
    const again = await createModel(reg.app, key, { task: 'regression', name: 'once' }).set('Idempotency-Key', 'model-1').expect(201);
    assert.deepEqual(again.body, first.body);
    assert.equal((await createModel(reg.app, key, { name: 'once', task: 'regression' }).expect(409)).body.error.code, 'model_exists');
  });

  it('refuses a malformed Idempotency-Key with 400 before doing anything', async () => {
    const before = await versions();
    for (const bad of ['', 'with space', 'x'.repeat(256), 'ünicode']) {
      const res = await upload(key, undefined, { auc: 0.7 }).set('Idempotency-Key', bad);
      assert.equal(res.status, 400, `${JSON.stringify(bad)}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'invalid_idempotency_key');
    }
    assert.equal((await post('promote', {}, 'with space').expect(400)).body.error.code, 'invalid_idempotency_key');
    assert.equal(await versions(), before);
  });

  it('does not let a reader use a key to replay a data scientist\'s answer', async () => {
    const reader = await reg.createKey('reader');
    const res = await post('promote', { reason: 'AUC +0.01' }, 'promote-1', reader).expect(403);
    assert.equal(res.body.error.code, 'forbidden');
  });
});
