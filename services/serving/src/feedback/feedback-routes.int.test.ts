import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { ROLES, type Role } from '@contender/contracts';
import { createHttpApp, createLogger, createMetricsRegistry, createPool, finishHttpApp, type Pool } from '@contender/platform';
import { startTestRegistry, type TestRegistry } from '@contender/registry/testing';
import { IntrospectionAuth } from '../auth/introspection-auth.js';
import { HttpRegistryClient } from '../registry/registry-client.js';
import { startTcpProxy } from '../testing/tcp-proxy.js';
import { PredictionLog } from '../prediction-log/prediction-log.js';
import { PgPredictionStore } from '../prediction-log/pg-prediction-store.js';
import { insertRecords, makeRecord, setUpLogDatabase, waitFor } from '../prediction-log/test-helpers.js';
import type { PredictionRecord } from '../prediction-log/prediction-record.js';
import { feedbackRoutes } from './feedback-routes.js';

const logger = createLogger('serving', 'silent');
let env: Awaited<ReturnType<typeof setUpLogDatabase>>;
let pool: Pool;
let store: PgPredictionStore;
const cleanups: (() => Promise<void>)[] = [];

let registry: TestRegistry;
let auth: IntrospectionAuth;
/** A real key of each role, checked by the real introspection auth against a real registry. */
const keys = {} as Record<Role, string>;
const as = (role: string) => `Bearer ${keys[role as Role]}`;

async function newApp(opts: { log?: PredictionLog; notFoundGraceMs?: number } = {}) {
  let log = opts.log;
  if (!log) {
    log = new PredictionLog({
      pool,
      databaseUrl: env.db.url,
      logger,
      metrics: createMetricsRegistry('serving', { defaultMetrics: false }),
      spillDir: await env.tmp(),
      flushIntervalMs: 3_600_000,
    });
    await log.start();
    const started = log;
    cleanups.push(() => started.close());
  }
  const metrics = createMetricsRegistry('serving', { defaultMetrics: false });
  const app = createHttpApp({
    service: 'serving',
    logger,
    metrics,
    readiness: async () => ({ ready: true, checks: {} }),
    openapi: () => ({}),
  });
  app.use(feedbackRoutes({ pool, log, requireRole: (role) => auth.middleware(role), notFoundGraceMs: opts.notFoundGraceMs ?? 0 }));
  return { app: finishHttpApp(app, logger), log };
}

async function logged(overrides: Partial<PredictionRecord> = {}): Promise<PredictionRecord> {
  const r = makeRecord(overrides);
  await insertRecords(store, [r]);
  return r;
}

const feedbackRows = async (id: string) =>
  (await pool.query('SELECT label, at, received_at, prediction_at FROM serving.feedback WHERE prediction_id = $1', [id])).rows;

before(async () => {
  registry = await startTestRegistry();
  for (const role of ROLES) keys[role] = await registry.createKey(role);
  const client = new HttpRegistryClient({ url: registry.url, apiKey: await registry.createKey('predictor'), timeoutMs: 5_000 });
  auth = new IntrospectionAuth({ introspect: (key) => client.introspect(key), logger, ttlMs: 60_000 });
  env = await setUpLogDatabase('feedback_routes');
  pool = env.pool;
  store = new PgPredictionStore(pool, { writeTimeoutMs: 5_000 });
});
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});
after(async () => {
  await env.tearDown();
  await registry.close();
});

describe('POST /feedback', () => {
  let app: Awaited<ReturnType<typeof newApp>>['app'];
  beforeEach(async () => {
    ({ app } = await newApp());
  });
  const post = (body: unknown, role = 'predictor') => request(app).post('/feedback').set('authorization', as(role)).send(body as object);

  it('stores the outcome of a logged prediction and answers 202 with it', async () => {
    const p = await logged();
    const res = await post({ predictionId: p.id, label: 1, at: '2026-01-31T12:00:00+01:00' });
    assert.equal(res.status, 202);
    assert.equal(res.body.predictionId, p.id);
    assert.equal(res.body.label, 1);
    assert.equal(res.body.at, '2026-01-31T11:00:00.000Z');
    assert.ok(Date.parse(res.body.receivedAt) > Date.now() - 60_000);
    const rows = await feedbackRows(p.id);
    assert.equal(rows.length, 1);
    assert.deepEqual(rows[0].prediction_at, p.at);
  });

  it('takes the outcome time to be now when none is given', async () => {
    const p = await logged();
    const before = Date.now();
    const res = await post({ predictionId: p.id, label: 0 });
    assert.equal(res.status, 202);
    assert.ok(Date.parse(res.body.at) >= before - 1 && Date.parse(res.body.at) <= Date.now());
  });

  it('accepts any finite number as a label, for regressors', async () => {
    const p = await logged({ label: null, score: 231.7 });
    const res = await post({ predictionId: p.id, label: 229.25 });
    assert.equal(res.status, 202);
    assert.equal((await feedbackRows(p.id))[0].label, 229.25);
  });

  it("answers 422 invalid_label for an outcome other than 0 or 1 of a classifier's prediction, and stores nothing", async () => {
    const p = await logged({ label: 1, score: 0.91 });
    const res = await post({ predictionId: p.id, label: 0.5 });
    assert.equal(res.status, 422);
    assert.equal(res.body.error.code, 'invalid_label');
    assert.match(res.body.error.message, /^label: .*classifier.*0 or 1; got 0\.5$/);
    assert.equal((await feedbackRows(p.id)).length, 0);
    assert.equal((await post({ predictionId: p.id, label: 1 })).status, 202, 'a valid outcome is still taken');
  });

  it('answers 202 again for the same label and keeps one row with the first outcome time', async () => {
    const p = await logged();
    const first = await post({ predictionId: p.id, label: 1, at: '2026-01-01T00:00:00Z' });
    const again = await post({ predictionId: p.id, label: 1, at: '2026-02-01T00:00:00Z' });
    assert.equal(again.status, 202);
    assert.deepEqual(again.body, first.body);
    assert.equal((await feedbackRows(p.id)).length, 1);
  });

  it('refuses a different label for the same prediction with 409 feedback_conflict and keeps the first', async () => {
    const p = await logged();
    await post({ predictionId: p.id, label: 1 });
    const res = await post({ predictionId: p.id, label: 0 });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'feedback_conflict');
    assert.equal(res.body.error.details.label, 1);
    const rows = await feedbackRows(p.id);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].label, 1);
  });

  it('stores exactly one row when the same feedback arrives many times at once', async () => {
    const p = await logged();
    const results = await Promise.all(Array.from({ length: 8 }, () => post({ predictionId: p.id, label: 1 })));
    assert.deepEqual(results.map((r) => r.status), Array(8).fill(202));
    assert.equal((await feedbackRows(p.id)).length, 1);
  });

  it('answers 404 prediction_not_found for an id no prediction has', async () => {
    const res = await post({ predictionId: '0f8fad5b-d9cb-469f-a165-70867728950e', label: 1 });
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'prediction_not_found');
  });

  it('matches the prediction id whatever its letter case', async () => {
    const p = await logged();
    const res = await post({ predictionId: p.id.toUpperCase(), label: 1 });
    assert.equal(res.status, 202);
    assert.equal(res.body.predictionId, p.id);
  });

  it('requires the predictor role', async () => {
    const p = await logged();
    assert.equal((await post({ predictionId: p.id, label: 1 }, 'reader')).status, 403);
    assert.equal((await request(app).post('/feedback').send({ predictionId: p.id, label: 1 })).status, 401);
    assert.equal((await post({ predictionId: p.id, label: 1 }, 'admin')).status, 202);
  });

  const invalid: [string, unknown, string][] = [
    ['no body', undefined, '(body)'],
    ['a missing predictionId', { label: 1 }, 'predictionId'],
    ['a predictionId that is not a UUID', { predictionId: 'p-1', label: 1 }, 'predictionId'],
    ['a missing label', { predictionId: '0f8fad5b-d9cb-469f-a165-70867728950e' }, 'label'],
    ['a label given as a string', { predictionId: '0f8fad5b-d9cb-469f-a165-70867728950e', label: '1' }, 'label'],
    ['a label that is not a number', { predictionId: '0f8fad5b-d9cb-469f-a165-70867728950e', label: true }, 'label'],
    ['an at without a time zone', { predictionId: '0f8fad5b-d9cb-469f-a165-70867728950e', label: 1, at: '2026-01-01T00:00:00' }, 'at'],
    ['an at that is no date', { predictionId: '0f8fad5b-d9cb-469f-a165-70867728950e', label: 1, at: '2026-02-30T00:00:00Z' }, 'at'],
    ['an unknown field', { predictionId: '0f8fad5b-d9cb-469f-a165-70867728950e', label: 1, outcome: 1 }, '(body)'],
  ];
  for (const [what, body, field] of invalid) {
    it(`answers 400 naming the field for ${what}`, async () => {
      const res = await post(body);
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'validation_failed');
      assert.ok(
        (res.body.error.details as { path: string }[]).some((d) => d.path === field),
        `details name ${field}: ${JSON.stringify(res.body.error.details)}`,
      );
      assert.match(res.body.error.message, new RegExp(field.replace(/[()]/g, '\\$&')));
    });
  }

  it('answers 400 malformed_json for a body that is not JSON', async () => {
    const res = await request(app).post('/feedback').set('authorization', as('predictor')).type('json').send('{"predictionId":');
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'malformed_json');
  });
});

describe('POST /feedback for predictions not yet in the table', () => {
  it('accepts feedback for a prediction still in the log buffer, and the join finds it once flushed', async () => {
    const { app, log } = await newApp();
    const p = makeRecord({ entityId: 'buffered-entity' });
    log.append(p);
    const res = await request(app).post('/feedback').set('authorization', as('predictor')).send({ predictionId: p.id, label: 1 });
    assert.equal(res.status, 202);
    await log.flush();
    const list = await request(app).get('/predictions').set('authorization', as('reader')).query({ entityId: 'buffered-entity' });
    assert.equal(list.body.items[0].outcome.label, 1);
  });

  it('answers 503 prediction_log_catching_up, not 404, while predictions spilled during an outage wait to be written', async () => {
    const proxy = await startTcpProxy({ port: Number(new URL(env.db.url).port || 5432) });
    const logPool = createPool(proxy.rewrite(env.db.url), { max: 2 });
    const log = new PredictionLog({
      pool: logPool,
      databaseUrl: proxy.rewrite(env.db.url),
      logger,
      metrics: createMetricsRegistry('serving', { defaultMetrics: false }),
      spillDir: await env.tmp(),
      flushIntervalMs: 3_600_000,
      retryInitialMs: 20,
      retryMaxMs: 50,
    });
    await log.start();
    cleanups.push(async () => {
      proxy.restore();
      await log.close();
      await logPool.end();
      await proxy.close();
    });
    const { app } = await newApp({ log });
    proxy.cut('reset');
    const p = makeRecord();
    log.append(p);
    await log.flush();
    assert.equal(log.hasSpillBacklog(), true);

    const during = await request(app).post('/feedback').set('authorization', as('predictor')).send({ predictionId: p.id, label: 1 });
    assert.equal(during.status, 503);
    assert.equal(during.body.error.code, 'prediction_log_catching_up');

    proxy.restore();
    await waitFor(() => !log.hasSpillBacklog(), { what: 'the replay' });
    const afterReplay = await request(app).post('/feedback').set('authorization', as('predictor')).send({ predictionId: p.id, label: 1 });
    assert.equal(afterReplay.status, 202);
  });
});

describe('GET /predictions', () => {
  let app: Awaited<ReturnType<typeof newApp>>['app'];
  let log: PredictionLog;
  beforeEach(async () => {
    ({ app, log } = await newApp());
  });
  const get = (query: Record<string, unknown>, role = 'reader') => request(app).get('/predictions').set('authorization', as(role)).query(query);
  const t0 = Date.parse('2026-11-01T10:00:00Z');

  it("lists an entity's predictions newest first, with their outcomes or null", async () => {
    const entityId = `entity-${Date.now()}`;
    const older = await logged({ entityId, at: new Date(t0), version: 3, variant: 'champion', score: 0.2, label: 0 });
    const newer = await logged({ entityId, at: new Date(t0 + 60_000), version: 4, variant: 'challenger', score: 0.9, label: 1, fallback: true });
    await logged({ entityId: `${entityId}-other`, at: new Date(t0 + 120_000) });
    await request(app).post('/feedback').set('authorization', as('predictor')).send({ predictionId: older.id, label: 1, at: '2026-11-02T00:00:00Z' });

    const res = await get({ entityId });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.items.map((i: { predictionId: string }) => i.predictionId), [newer.id, older.id]);
    const [first, second] = res.body.items;
    assert.deepEqual(first, {
      predictionId: newer.id,
      requestId: newer.requestId,
      at: newer.at.toISOString(),
      model: newer.model,
      version: 4,
      variant: 'challenger',
      score: 0.9,
      label: 1,
      fallback: true,
      outcome: null,
    });
    assert.equal(second.outcome.label, 1);
    assert.equal(second.outcome.at, '2026-11-02T00:00:00.000Z');
    assert.ok(second.outcome.receivedAt);
  });

  it("shows this replica's predictions not yet written, in order among the table's, with their outcomes, each once", async () => {
    // A backslash in the entity id (control characters such as a tab are not allowed in one) and
    // a tab and a backslash in a request id: both travel through COPY's escaping and back.
    const entityId = `pending\\entity-${Date.now()}`;
    const ids = (res: { body: { items: { predictionId: string }[] } }) => res.body.items.map((i) => i.predictionId);
    const stored1 = await logged({ entityId, at: new Date(t0) });
    const stored2 = await logged({ entityId, at: new Date(t0 + 120_000) });
    const pending1 = makeRecord({ entityId, at: new Date(t0 + 60_000), requestId: 'req\t\\1' });
    const pending2 = makeRecord({ entityId, at: new Date(t0 + 180_000), variant: 'shadow', version: 7, score: Number.NaN, label: null, fallback: true });
    // In the table and still in memory (as while a batch commits): shown once.
    const both = makeRecord({ entityId, at: new Date(t0 + 90_000) });
    await insertRecords(store, [both]);
    for (const r of [pending1, pending2, both]) log.append(r);
    // Not this entity's, though the bytes of its id are in their lines.
    log.append(makeRecord({ entityId: `${entityId}-other` }));
    log.append(makeRecord({ entityId: 'someone-else', requestId: entityId }));
    log.append(makeRecord({ entityId, model: 'churn' }));
    assert.equal(
      (await request(app).post('/feedback').set('authorization', as('predictor')).send({ predictionId: pending1.id, label: 1 })).status,
      202,
    );

    const before = await get({ entityId, model: 'credit-default' });
    assert.equal(before.status, 200);
    assert.deepEqual(ids(before), [pending2.id, stored2.id, both.id, pending1.id, stored1.id]);
    assert.deepEqual(before.body.items[0], {
      predictionId: pending2.id,
      requestId: pending2.requestId,
      at: pending2.at.toISOString(),
      model: 'credit-default',
      version: 7,
      variant: 'shadow',
      score: null,
      label: null,
      fallback: true,
      outcome: null,
    });
    assert.equal(before.body.items[3].requestId, 'req\t\\1');
    assert.equal(before.body.items[3].outcome.label, 1);
    assert.deepEqual(ids(await get({ entityId, model: 'credit-default', limit: 2 })), [pending2.id, stored2.id]);
    assert.equal((await get({ entityId })).body.items.length, 6, 'without a model filter, the churn prediction too');

    await log.flush();
    assert.deepEqual(await get({ entityId, model: 'credit-default' }).then((r) => r.body), before.body, 'the same once written');
  });

  it('filters by model', async () => {
    const entityId = `entity-model-${Date.now()}`;
    const a = await logged({ entityId, model: 'credit-default' });
    await logged({ entityId, model: 'churn' });
    const res = await get({ entityId, model: 'credit-default' });
    assert.deepEqual(res.body.items.map((i: { predictionId: string }) => i.predictionId), [a.id]);
  });

  it('returns 50 by default and at most limit', async () => {
    const entityId = `entity-many-${Date.now()}`;
    const records = Array.from({ length: 60 }, (_, i) => makeRecord({ entityId, at: new Date(t0 + i * 1_000) }));
    await insertRecords(store, records);
    assert.equal((await get({ entityId })).body.items.length, 50);
    const three = await get({ entityId, limit: 3 });
    assert.deepEqual(three.body.items.map((i: { predictionId: string }) => i.predictionId), records.slice(-3).reverse().map((r) => r.id));
    assert.equal((await get({ entityId, limit: 500 })).body.items.length, 60);
  });

  it('answers an empty list for an entity without predictions', async () => {
    const res = await get({ entityId: 'nobody' });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { items: [] });
  });

  it('requires the reader role', async () => {
    assert.equal((await request(app).get('/predictions').query({ entityId: 'x' })).status, 401);
    assert.equal((await get({ entityId: 'x' }, 'predictor')).status, 200);
  });

  const invalid: [string, Record<string, unknown>, string][] = [
    ['a missing entityId', {}, 'entityId'],
    ['an empty entityId', { entityId: '' }, 'entityId'],
    ['two entityIds', { entityId: ['a', 'b'] }, 'entityId'],
    ['a limit of 0', { entityId: 'x', limit: 0 }, 'limit'],
    ['a limit above 500', { entityId: 'x', limit: 501 }, 'limit'],
    ['a limit that is not a number', { entityId: 'x', limit: 'ten' }, 'limit'],
    ['a fractional limit', { entityId: 'x', limit: 2.5 }, 'limit'],
    ['a model name that cannot exist', { entityId: 'x', model: 'Bad Name!' }, 'model'],
  ];
  for (const [what, query, field] of invalid) {
    it(`answers 400 naming the field for ${what}`, async () => {
      const res = await get(query);
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'validation_failed');
      assert.ok(
        (res.body.error.details as { path: string }[]).some((d) => d.path === field),
        `details name ${field}: ${JSON.stringify(res.body.error.details)}`,
      );
    });
  }
});
