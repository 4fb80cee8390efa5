import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { createTestDatabase, type TestDatabase } from '@contender/platform/testing';
import { startTestRegistry, type TestRegistry } from '@contender/registry/testing';
import { startTestServing, type TestServing } from '../testing.js';
import { metricValue } from '../test/metric-value.js';
import { startRedisServer, type TestRedisServer } from '../test/redis-server.js';
import { RegistryAdmin, TREECL2, TREECL2_FEATURES, fixture } from '../test/registry-fixtures.js';

const LIMIT = 6;
const features = Object.fromEntries(TREECL2_FEATURES.map((f, i) => [f, i / 10]));
const body = { model: 'credit', features };

describe('rate limits per API key, shared by two serving processes through Redis', () => {
  let db: TestDatabase;
  let reg: TestRegistry;
  let redis: TestRedisServer;
  let a: TestServing;
  let b: TestServing;

  before(async () => {
    db = await createTestDatabase('serving_rate_limit');
    reg = await startTestRegistry();
    const admin = new RegistryAdmin(reg.url, reg.adminKey);
    await admin.createModel('credit');
    await admin.setAlias('credit', 'champion', await admin.registerVersion('credit', fixture(TREECL2), { featureNames: TREECL2_FEATURES }));
    redis = await startRedisServer();
    await redis.start();
    // A long window, so the whole test falls within one window however slow the machine is.
    const env = { RATE_LIMITS: JSON.stringify({ predictor: LIMIT }), RATE_LIMIT_WINDOW_SECONDS: '600' };
    const common = { registryUrl: reg.url, apiKey: await reg.createKey('predictor'), databaseUrl: db.url, redisUrl: redis.url, redisKeyPrefix: 'rl-test:', env };
    a = await startTestServing(common);
    b = await startTestServing(common);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await redis?.stop();
    await reg?.close();
    await db?.drop();
  });

  it('counts one key across both processes: LIMIT requests answered, the next refused with 429 and Retry-After', async () => {
    const key = await reg.createKey('predictor', 'limited');
    const auth = { Authorization: `Bearer ${key}` };
    for (let i = 0; i < LIMIT / 2; i++) {
      await request(a.app).post('/predict').set(auth).send(body).expect(200);
      await request(b.app).post('/predict/batch').set(auth).send({ model: 'credit', rows: [{ features }] }).expect(200);
    }
    const refused = await request(a.app).post('/predict').set(auth).send(body).expect(429);
    assert.match(String(refused.headers['retry-after']), /^[1-9]\d*$/);
    assert.ok(Number(refused.headers['retry-after']) <= 600);
    assert.equal(refused.body.error.code, 'rate_limited');
    assert.equal(refused.body.error.details.limit, LIMIT);
    assert.equal(refused.body.error.details.retryAfterSeconds, Number(refused.headers['retry-after']));
    assert.equal(typeof refused.body.error.requestId, 'string');
    const onB = await request(b.app).put('/features/e1').set(auth).send({ features }).expect(429);
    assert.ok(onB.headers['retry-after']);
    // Another key has a count of its own.
    const other = await reg.createKey('predictor', 'other');
    await request(b.app).post('/predict').set('Authorization', `Bearer ${other}`).send(body).expect(200);
    const metrics = (await request(a.app).get('/metrics').expect(200)).text;
    assert.equal(metricValue(metrics, 'serving_rate_limited_total', { role: 'predictor' }), 1);
  });

  it('lets requests through while Redis is down and counts them in serving_rate_limit_fail_open_total', async () => {
    const key = await reg.createKey('predictor', 'during-outage');
    await request(a.app).post('/predict').set('Authorization', `Bearer ${key}`).send(body).expect(200); // the key is now cached
    await redis.stop();
    for (let i = 0; i < LIMIT + 2; i++) {
      await request(a.app).post('/predict').set('Authorization', `Bearer ${key}`).send(body).expect(200);
    }
    const metrics = (await request(a.app).get('/metrics').expect(200)).text;
    assert.equal(metricValue(metrics, 'serving_rate_limit_fail_open_total'), LIMIT + 2);
  });
});
