import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import request from 'supertest';
import { API_KEY_REVOCATIONS_CHANNEL } from '@contender/contracts';
import { startTestRegistry, type TestRegistry } from '../testing.js';
import { auth } from './fixtures.js';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

describe('API keys as audit actors, and their revocation', () => {
  let reg: TestRegistry;
  const keyEvents = (id: number, action: string) =>
    reg.container.pool
      .query<{ actor: string; after: { id: number } }>("SELECT actor, after FROM registry.audit_event WHERE action = $1 AND (after->>'id')::bigint = $2 ORDER BY id", [action, id])
      .then((r) => r.rows);
  const createKey = (body: object, admin = reg.adminKey) => request(reg.app).post('/api/v1/api-keys').set(auth(admin)).send(body);
  const revoke = (id: number, admin = reg.adminKey) => request(reg.app).delete(`/api/v1/api-keys/${id}`).set(auth(admin));

  before(async () => {
    reg = await startTestRegistry();
  });
  after(() => reg.close());

  it('records the key id with the name as the actor, so a new key named like a revoked one is told apart', async () => {
    const first = (await createKey({ name: 'alice', role: 'data-scientist' }).expect(201)).body;
    await request(reg.app).post('/api/v1/models').set(auth(first.key)).send({ name: 'm1', task: 'regression' }).expect(201);
    await revoke(first.id).expect(200);
    const second = (await createKey({ name: 'alice', role: 'data-scientist' }).expect(201)).body;
    assert.notEqual(second.id, first.id);
    await request(reg.app).post('/api/v1/models').set(auth(second.key)).send({ name: 'm2', task: 'regression' }).expect(201);
    const actors = async (model: string) =>
      ((await request(reg.app).get(`/api/v1/models/${model}/events`).set(auth(second.key)).expect(200)).body.items as Array<{ actor: string }>).map((e) => e.actor);
    assert.deepEqual(await actors('m1'), [`alice#${first.id}`]);
    assert.deepEqual(await actors('m2'), [`alice#${second.id}`]);
    const model = (await request(reg.app).get('/api/v1/models/m1').set(auth(second.key)).expect(200)).body;
    assert.equal(model.createdBy, `alice#${first.id}`);
  });

  it('audits key creation and revocation, and the bootstrap admin key as created by system', async () => {
    const k = (await createKey({ name: 'ci-bot', role: 'reader' }).expect(201)).body;
    const bootstrap = (await request(reg.app).get('/api/v1/api-keys').set(auth(reg.adminKey)).expect(200)).body.items.find((x: { name: string }) => x.name === 'bootstrap-admin');
    assert.deepEqual((await keyEvents(k.id, 'api_key.created')).map((e) => e.actor), [`bootstrap-admin#${bootstrap.id}`]);
    assert.deepEqual((await keyEvents(bootstrap.id, 'api_key.created')).map((e) => e.actor), ['system']);
    await revoke(k.id).expect(200);
    assert.deepEqual((await keyEvents(k.id, 'api_key.revoked')).map((e) => e.actor), [`bootstrap-admin#${bootstrap.id}`]);
  });

  it("refuses the platform's own names (system, bootstrap-admin) in any case, and allows serving and scheduler", async () => {
    for (const name of ['system', 'SYSTEM', 'bootstrap-admin', 'Bootstrap-Admin']) {
      const res = await createKey({ name, role: 'admin' }).expect(400);
      assert.equal(res.body.error.code, 'validation_failed');
      assert.match(res.body.error.message, /^name: is reserved for the platform's own keys \(system, bootstrap-admin\)/);
    }
    // `npm start` creates these through the API as the bootstrap admin.
    await createKey({ name: 'serving', role: 'predictor' }).expect(201);
    await createKey({ name: 'scheduler', role: 'data-scientist' }).expect(201);
  });

  it('revokes idempotently: a second call answers the same revoked key and writes no second event', async () => {
    const k = (await createKey({ name: 'twice', role: 'reader' }).expect(201)).body;
    const one = (await revoke(k.id).expect(200)).body;
    const two = (await revoke(k.id).expect(200)).body;
    assert.ok(one.revokedAt);
    assert.deepEqual(two, one);
    assert.equal((await keyEvents(k.id, 'api_key.revoked')).length, 1);
    const [a, b] = await Promise.all([revoke(k.id), revoke(k.id)]);
    assert.deepEqual([a.status, b.status], [200, 200]);
    assert.equal((await keyEvents(k.id, 'api_key.revoked')).length, 1);
    await revoke(999_999).expect(404);
  });

  it('refuses to revoke the last active admin key with 409 last_admin, which keeps working', async () => {
    const ops = (await createKey({ name: 'ops', role: 'admin' }).expect(201)).body;
    const actives = (await request(reg.app).get('/api/v1/api-keys').set(auth(ops.key)).expect(200)).body.items.filter(
      (k: { role: string; revokedAt: string | null; id: number }) => k.role === 'admin' && k.revokedAt === null && k.id !== ops.id,
    );
    for (const k of actives) await revoke(k.id, ops.key).expect(200);
    const res = await revoke(ops.id, ops.key).expect(409);
    assert.equal(res.body.error.code, 'last_admin');
    assert.match(res.body.error.message, /last active admin key/);
    await request(reg.app).get('/api/v1/api-keys').set(auth(ops.key)).expect(200);
    // With a second admin, the first may go.
    const next = (await createKey({ name: 'ops-2', role: 'admin' }, ops.key).expect(201)).body;
    await revoke(ops.id, next.key).expect(200);
  });
});

describe('revocations published for serving', () => {
  it('publishes { keyId, keyHash } on contender:api-key-revocations after the revocation commits, once', async () => {
    const reg = await startTestRegistry();
    const sub = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true });
    try {
      await sub.connect();
      await sub.subscribe(API_KEY_REVOCATIONS_CHANNEL);
      const received: unknown[] = [];
      sub.on('message', (_channel: string, text: string) => received.push(JSON.parse(text)));
      const created = (await request(reg.app).post('/api/v1/api-keys').set(auth(reg.adminKey)).send({ name: 'to-revoke', role: 'predictor' }).expect(201)).body;
      const other = (await request(reg.app).post('/api/v1/api-keys').set(auth(reg.adminKey)).send({ name: 'marker', role: 'reader' }).expect(201)).body;
      await request(reg.app).delete(`/api/v1/api-keys/${created.id}`).set(auth(reg.adminKey)).expect(200);
      await request(reg.app).delete(`/api/v1/api-keys/${created.id}`).set(auth(reg.adminKey)).expect(200);
      // A later revocation marks the end: messages on one connection arrive in order.
      await request(reg.app).delete(`/api/v1/api-keys/${other.id}`).set(auth(reg.adminKey)).expect(200);
      const mine = (m: unknown) => [created.id, other.id].includes((m as { keyId: number }).keyId) && (m as { keyHash: string }).keyHash !== undefined;
      const deadline = Date.now() + 10_000;
      while (!received.some((m) => (m as { keyId: number }).keyId === other.id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      // Other test registries share this Redis and channel; their key ids carry other hashes.
      const ours = received.filter(mine).filter((m) => [sha256(created.key), sha256(other.key)].includes((m as { keyHash: string }).keyHash));
      assert.deepEqual(ours, [
        { keyId: created.id, keyHash: sha256(created.key) },
        { keyId: other.id, keyHash: sha256(other.key) },
      ]);
      const stored = await reg.container.pool.query('SELECT key_hash FROM registry.api_key WHERE id = $1', [created.id]);
      assert.equal(stored.rows[0].key_hash, sha256(created.key));
    } finally {
      sub.disconnect();
      await reg.close();
    }
  });

  it('still revokes when Redis is down, counting the message it could not publish', async () => {
    const reg = await startTestRegistry({ redisUrl: 'redis://127.0.0.1:1' });
    try {
      const k = (await request(reg.app).post('/api/v1/api-keys').set(auth(reg.adminKey)).send({ name: 'offline', role: 'reader' }).expect(201)).body;
      await request(reg.app).delete(`/api/v1/api-keys/${k.id}`).set(auth(reg.adminKey)).expect(200);
      await request(reg.app).get('/api/v1/deployments').set(auth(k.key)).expect(401);
      const metrics = await request(reg.app).get('/metrics').expect(200);
      assert.match(metrics.text, /registry_api_key_revocation_publish_failures_total\{service="registry"\} 1\b/);
    } finally {
      await reg.close();
    }
  });
});
