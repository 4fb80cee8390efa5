import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { REGISTRY_EVENTS_CHANNEL } from '@contender/contracts';
import { createRedisSubscriber } from '@contender/platform';
import { startRedisServer } from '@contender/platform/testing';
import { startTestRegistry, type TestRegistry } from '../testing.js';
import { auth } from './fixtures.js';

describe('API keys, roles and request errors', () => {
  let reg: TestRegistry;
  const keys: Record<string, string> = {};

  before(async () => {
    reg = await startTestRegistry();
    for (const role of ['reader', 'predictor', 'data-scientist', 'admin'] as const) keys[role] = await reg.createKey(role);
  });
  after(() => reg.close());

  it('answers 401 without a key, with an unknown key, and with a malformed header', async () => {
    const none = await request(reg.app).get('/api/v1/models').expect(401);
    assert.equal(none.body.error.code, 'unauthorized');
    assert.match(none.body.error.message, /Authorization: Bearer/);
    await request(reg.app).get('/api/v1/models').set(auth('ctk_unknown')).expect(401);
    await request(reg.app).get('/api/v1/models').set('Authorization', 'Basic abc').expect(401);
  });

  it('enforces each role boundary with 403 naming the role needed', async () => {
    const cases: Array<[string, string, string, object | undefined, string[], string[]]> = [
      // method, path, role needed, body, roles allowed, roles refused
      ['get', '/api/v1/models', 'reader', undefined, ['reader', 'predictor', 'data-scientist', 'admin'], []],
      ['post', '/api/v1/models', 'data-scientist', { name: 'm-x', task: 'regression' }, ['data-scientist'], ['reader', 'predictor']],
      ['put', '/api/v1/models/none/traffic', 'data-scientist', { challengerPercent: 0, mode: 'split' }, [], ['reader', 'predictor']],
      ['post', '/api/v1/models/none/promote', 'data-scientist', {}, [], ['reader', 'predictor']],
      ['post', '/api/v1/models/none/rollback', 'data-scientist', {}, [], ['reader', 'predictor']],
      ['put', '/api/v1/models/none/aliases/champion', 'data-scientist', { version: 1 }, [], ['reader', 'predictor']],
      ['post', '/api/v1/api-keys', 'admin', { name: 'k-new', role: 'reader' }, ['admin'], ['reader', 'predictor', 'data-scientist']],
      ['get', '/api/v1/api-keys', 'admin', undefined, ['admin'], ['reader', 'predictor', 'data-scientist']],
      ['get', '/api/v1/deployments', 'reader', undefined, ['predictor'], []],
    ];
    for (const [method, path, role, body, allowed, refused] of cases) {
      for (const r of refused) {
        const res = await (request(reg.app) as unknown as Record<string, (p: string) => request.Test>)[method]!(path).set(auth(keys[r]!)).send(body);
        assert.equal(res.status, 403, `${r} on ${method} ${path}`);
        assert.match(res.body.error.message, new RegExp(`needs role "${role}"`));
      }
      for (const r of allowed) {
        const res = await (request(reg.app) as unknown as Record<string, (p: string) => request.Test>)[method]!(path).set(auth(keys[r]!)).send(body);
        assert.ok(res.status < 400, `${r} on ${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
      }
    }
  });

  it('creates a key shown once, stores only its hash, lists and revokes it', async () => {
    const created = await request(reg.app).post('/api/v1/api-keys').set(auth(keys.admin!)).send({ name: 'ci-bot', role: 'predictor' }).expect(201);
    assert.match(created.body.key, /^ctk_[A-Za-z0-9_-]{43}$/);
    const stored = await reg.container.pool.query('SELECT key_hash FROM registry.api_key WHERE id = $1', [created.body.id]);
    assert.notEqual(stored.rows[0].key_hash, created.body.key);
    assert.equal(stored.rows[0].key_hash.length, 64);
    const list = await request(reg.app).get('/api/v1/api-keys').set(auth(keys.admin!)).expect(200);
    const listed = list.body.items.find((k: { id: number }) => k.id === created.body.id);
    assert.equal(listed.key, undefined);
    assert.equal(listed.prefix, created.body.key.slice(0, 10));
    assert.equal((await request(reg.app).post('/api/v1/api-keys').set(auth(keys.admin!)).send({ name: 'ci-bot', role: 'reader' }).expect(409)).body.error.code, 'api_key_exists');
    await request(reg.app).get('/api/v1/deployments').set(auth(created.body.key)).expect(200);
    await request(reg.app).delete(`/api/v1/api-keys/${created.body.id}`).set(auth(keys.admin!)).expect(200);
    await request(reg.app).get('/api/v1/deployments').set(auth(created.body.key)).expect(401);
    await request(reg.app).delete('/api/v1/api-keys/999999').set(auth(keys.admin!)).expect(404);
  });

  it('introspects a key for the other services without needing a key itself', async () => {
    const active = await request(reg.app).post('/api/v1/auth/introspect').send({ key: keys.predictor }).expect(200);
    assert.equal(active.body.active, true);
    assert.equal(active.body.role, 'predictor');
    const inactive = await request(reg.app).post('/api/v1/auth/introspect').send({ key: 'ctk_nope' }).expect(200);
    assert.deepEqual(inactive.body, { active: false });
    const bad = await request(reg.app).post('/api/v1/auth/introspect').send({}).expect(400);
    assert.match(bad.body.error.message, /^key: /);
  });

  it('answers 400 malformed_json for a body that is not JSON', async () => {
    const res = await request(reg.app).post('/api/v1/models').set(auth(keys['data-scientist']!)).set('Content-Type', 'application/json').send('{"name": "x",').expect(400);
    assert.equal(res.body.error.code, 'malformed_json');
    assert.ok(res.body.error.requestId);
  });

  it('validates a new model: name pattern, task, unknown fields; a duplicate name is 409', async () => {
    const ds = keys['data-scientist']!;
    const badName = await request(reg.app).post('/api/v1/models').set(auth(ds)).send({ name: 'Bad Name', task: 'regression' }).expect(400);
    assert.match(badName.body.error.message, /^name: must match/);
    const badTask = await request(reg.app).post('/api/v1/models').set(auth(ds)).send({ name: 'ok', task: 'clustering' }).expect(400);
    assert.match(badTask.body.error.message, /^task: /);
    const extra = await request(reg.app).post('/api/v1/models').set(auth(ds)).send({ name: 'ok', task: 'regression', owner: 'x' }).expect(400);
    assert.match(extra.body.error.message, /owner/);
    await request(reg.app).post('/api/v1/models').set(auth(ds)).send({ name: 'dup', task: 'regression' }).expect(201);
    const dup = await request(reg.app).post('/api/v1/models').set(auth(ds)).send({ name: 'dup', task: 'regression' }).expect(409);
    assert.equal(dup.body.error.code, 'model_exists');
  });

  it('answers 404 route_not_found for unknown routes and 404 model_not_found for unknown models', async () => {
    assert.equal((await request(reg.app).get('/api/v1/nothing').expect(404)).body.error.code, 'route_not_found');
    assert.equal((await request(reg.app).get('/api/v1/models/ghost').set(auth(keys.reader!)).expect(404)).body.error.code, 'model_not_found');
  });

  it('pages through models by name', async () => {
    const ds = keys['data-scientist']!;
    for (const n of ['pg-a', 'pg-b', 'pg-c']) await request(reg.app).post('/api/v1/models').set(auth(ds)).send({ name: n, task: 'regression' }).expect(201);
    const p1 = await request(reg.app).get('/api/v1/models?limit=2').set(auth(ds)).expect(200);
    assert.equal(p1.body.items.length, 2);
    const p2 = await request(reg.app).get(`/api/v1/models?limit=2&after=${p1.body.nextCursor}`).set(auth(ds)).expect(200);
    assert.ok(p2.body.items[0].name > p1.body.items[1].name);
  });

  it('serves health, readiness, metrics, the OpenAPI document and the docs page', async () => {
    await request(reg.app).get('/healthz').expect(200);
    const ready = await request(reg.app).get('/readyz').expect(200);
    assert.equal(ready.body.checks.postgres.ok, true);
    assert.equal(ready.body.checks.artifactStore.ok, true);
    const metrics = await request(reg.app).get('/metrics').expect(200);
    assert.match(metrics.text, /registry_http_request_duration_seconds_bucket\{[^}]*route="\/api\/v1\/models"/);
    // Failed requests keep the mount prefix too (earlier tests in this file got 403s and 404s here).
    assert.match(metrics.text, /route="\/api\/v1\/models\/:name",status="404"/);
    assert.doesNotMatch(metrics.text, /route="\/models/);
    assert.match(metrics.text, /registry_models\{service="registry"\} [1-9]\d*/);
    const doc = await request(reg.app).get('/openapi.json').expect(200);
    assert.equal(doc.body.openapi, '3.0.3');
    assert.ok(doc.body.paths['/api/v1/models/{name}/promote'].post);
    assert.ok(doc.body.paths['/api/v1/models/{name}/versions'].post.requestBody.content['multipart/form-data']);
    assert.match((await request(reg.app).get('/docs').expect(200)).text, /swagger-ui-bundle\.js/);
    await request(reg.app).get('/docs/assets/swagger-ui-bundle.js').expect(200);
    const page = await request(reg.app).get('/docs/static').expect(200);
    assert.match(page.text, /\/api\/v1\/models\/\{name\}\/rollback/);
    assert.match(page.headers['content-security-policy'] as string, /default-src 'none'/);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
  });
});

describe('a Redis outage at the registry', () => {
  it('publishes while Redis is up; while it is down still commits and answers changes, counting each event it could not publish, and /readyz says so; recovers when Redis is back', async () => {
    const redis = await startRedisServer();
    const reg = await startTestRegistry({ redisUrl: redis.url });
    const sub = createRedisSubscriber(redis.url);
    const seen: string[] = [];
    sub.on('message', (_channel: string, message: string) => seen.push((JSON.parse(message) as { model: string | null }).model ?? ''));
    const readyRedis = async () => (await request(reg.app).get('/readyz')).body.checks.redis.ok as boolean;
    const failures = async () => {
      const text = (await request(reg.app).get('/metrics').expect(200)).text;
      return Number(/registry_event_publish_failures_total\{service="registry"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    try {
      await sub.subscribe(REGISTRY_EVENTS_CHANNEL);
      const key = await reg.createKey('data-scientist');
      const create = (name: string) => request(reg.app).post('/api/v1/models').set(auth(key)).send({ name, task: 'regression' }).expect(201);

      await create('while-up');
      await waitFor(() => seen.includes('while-up'), 'the event published while Redis is up');
      assert.equal(await readyRedis(), true);
      assert.equal(await failures(), 0);

      await redis.stop();
      await create('while-down');
      assert.equal((await request(reg.app).get('/api/v1/models/while-down').set(auth(key)).expect(200)).body.name, 'while-down');
      assert.equal(await failures(), 1, 'the lost event is counted');
      const ready = await request(reg.app).get('/readyz');
      assert.equal(ready.status, 200, 'degraded, not unready: Redis only carries change events');
      assert.equal(ready.body.checks.redis.ok, false);

      await redis.start();
      await waitFor(async () => (await readyRedis()) && sub.status === 'ready', 'the registry and the subscriber to reconnect');
      await create('after');
      await waitFor(() => seen.includes('after'), 'the event published after Redis came back');
      assert.equal(await failures(), 1, 'nothing more lost');
      assert.ok(!seen.includes('while-down'), 'an event lost in the outage is not replayed (serving reconciles instead)');
    } finally {
      sub.disconnect();
      await reg.close();
      await redis.stop();
    }
  });
});

/** Polls with a deadline; never a fixed sleep. */
async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
