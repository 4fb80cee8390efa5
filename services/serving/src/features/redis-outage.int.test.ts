import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '@contender/platform/testing';
import { startTestRegistry, type TestRegistry } from '@contender/registry/testing';
import { startTestServing, type TestServing } from '../testing.js';
import { JsonClient, type JsonResponse } from '../test/http-client.js';
import { metricValue } from '../test/metric-value.js';
import { startRedisServer, type TestRedisServer } from '@contender/platform/testing';
import { RegistryAdmin, TREECL2, TREECL2_FEATURES, fixture } from '../test/registry-fixtures.js';

const features = (i: number) => Object.fromEntries(TREECL2_FEATURES.map((n, j) => [n, ((i + j) % 10) / 5 - 1]));

interface Outcome {
  kind: 'features' | 'entity';
  res: JsonResponse<{ error?: { code: string }; predictionId?: string }>;
}

describe('a Redis outage under load', () => {
  let db: TestDatabase;
  let reg: TestRegistry;
  let redis: TestRedisServer;
  let serving: TestServing;
  let client: JsonClient;
  let pool: pg.Pool;

  before(async () => {
    db = await createTestDatabase('serving_redis_outage');
    reg = await startTestRegistry();
    const admin = new RegistryAdmin(reg.url, reg.adminKey);
    await admin.createModel('credit');
    await admin.registerVersion('credit', fixture(TREECL2), { featureNames: TREECL2_FEATURES });
    await admin.setAlias('credit', 'champion', 1);
    redis = await startRedisServer();
    serving = await startTestServing({ registryUrl: reg.url, apiKey: await reg.createKey('predictor'), databaseUrl: db.url, redisUrl: redis.url });
    client = new JsonClient(serving.url, await reg.createKey('predictor'), 32);
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
  });
  after(async () => {
    client?.close();
    await serving?.close();
    await redis?.stop();
    await pool?.end();
    await reg?.close();
    await db?.drop();
  });

  it('answers requests that carry features, 503s entity-only ones fast, recovers on its own, and logs one row per answer', async () => {
    for (let i = 0; i < 20; i++) {
      const put = await client.request('PUT', `/features/e${i}`, { features: features(i) }, {});
      assert.equal(put.status, 200);
    }
    const outcomes: Outcome[] = [];
    type Phase = 'before' | 'down' | 'after';
    let phase = 'before' as Phase;
    const byPhase: Record<Phase, Outcome[]> = { before: [], down: [], after: [] };
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const entity = `e${(w * 7 + i) % 20}`;
        const kind = i % 2 === 0 ? 'features' : 'entity';
        const body = kind === 'features' ? { model: 'credit', entityId: entity, features: features(i) } : { model: 'credit', entityId: entity };
        const res = await client.post<Outcome['res']['body']>('/predict', body);
        const o: Outcome = { kind, res };
        outcomes.push(o);
        byPhase[phase].push(o);
      }
    };
    const workers = Array.from({ length: 16 }, (_, w) => worker(w));
    const waitFor = async (what: string, pred: () => boolean) => {
      const deadline = Date.now() + 15_000;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await waitFor('load before the outage', () => byPhase.before.length >= 300);
    await redis.stop();
    phase = 'down';
    await waitFor('entity-only requests refused while Redis is down', () => byPhase.down.filter((o) => o.res.status === 503).length >= 100);
    await redis.start();
    phase = 'after';
    // Redis came back empty (no persistence): entity-only requests work again once a request with
    // features has rewritten the entity — proof that the client reconnected by itself.
    await waitFor('entity-only answers after the restart', () => byPhase.after.some((o) => o.kind === 'entity' && o.res.status === 200));
    stop = true;
    await Promise.all(workers);

    for (const o of outcomes.filter((x) => x.kind === 'features')) assert.equal(o.res.status, 200, JSON.stringify(o.res.body));
    assert.ok(byPhase.before.every((o) => o.res.status === 200));
    const refused = byPhase.down.filter((o) => o.res.status !== 200);
    assert.ok(refused.every((o) => o.kind === 'entity' && o.res.status === 503 && o.res.body.error?.code === 'feature_cache_unavailable'));
    // Failing fast is shown by order, not by a time bound: these answers arrived while Redis was
    // still down (byPhase.down), which a request queued until Redis returned could never do.
    assert.ok(refused.length >= 100);
    assert.ok(byPhase.after.every((o) => o.res.status === 200 || (o.kind === 'entity' && [422, 503].includes(o.res.status))));

    const metrics = (await client.get<string>('/metrics')).body;
    assert.ok(metricValue(metrics, 'serving_feature_cache_requests_total', { result: 'write_error' })! > 0, 'failed write-throughs are counted');
    assert.ok(metricValue(metrics, 'serving_feature_cache_requests_total', { result: 'error' })! > 0, 'failed reads are counted');

    const answered = outcomes.filter((o) => o.res.status === 200);
    await serving.container.predictionLog.flush();
    const { rows } = await pool.query<{ n: number; ids: number }>('SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids FROM serving.prediction');
    assert.equal(rows[0]!.n, answered.length);
    assert.equal(rows[0]!.ids, answered.length);
  });
});
