import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { assignsChallenger } from '@contender/contracts';
import { createTestDatabase, type TestDatabase } from '@contender/platform/testing';
import { startTestRegistry, type TestRegistry } from '@contender/registry/testing';
import { startTestServing, type TestServing } from '../testing.js';
import { JsonClient } from '../test/http-client.js';
import { RegistryAdmin, TREECL2, TREECL2_FEATURES, fixture } from '../test/registry-fixtures.js';

const ZEROS = Object.fromEntries(TREECL2_FEATURES.map((n) => [n, 0]));
/** Half-width of the 99.9% normal interval of a binomial proportion (z = 3.29). */
const halfWidth999 = (n: number, p: number) => 3.29 * Math.sqrt((p * (1 - p)) / n);

interface BatchAnswer {
  predictions: Array<{ entityId: string; variant: string; version: number; score: number }>;
}

describe('traffic policy: sticky split and shadow mode through a real registry', () => {
  let db: TestDatabase;
  let reg: TestRegistry;
  let admin: RegistryAdmin;
  let serving: TestServing;
  let client: JsonClient;
  let pool: pg.Pool;

  /** The arm of each of `n` entities, through /predict/batch in chunks under the 1 MiB limit. */
  const arms = async (n: number): Promise<Map<string, string>> => {
    const out = new Map<string, string>();
    for (let start = 0; start < n; start += 4_000) {
      const rows = Array.from({ length: Math.min(4_000, n - start) }, (_, i) => ({ entityId: `cust-${start + i}`, features: ZEROS }));
      const res = await client.post<BatchAnswer>('/predict/batch', { model: 'split', rows });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      for (const p of res.body.predictions) out.set(p.entityId, p.variant);
    }
    return out;
  };

  const waitForPercent = async (percent: number, mode: 'split' | 'shadow') => {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const m = serving.container.models.get('split');
      if (m?.challengerPercent === percent && m.mode === mode) return;
      if (Date.now() > deadline) throw new Error(`traffic ${percent}% ${mode} not applied`);
      await new Promise<void>((resolve) => {
        const off = serving.container.models.onApplied(() => {
          off();
          resolve();
        });
        setTimeout(() => {
          off();
          resolve();
        }, 100);
      });
    }
  };

  before(async () => {
    db = await createTestDatabase('serving_traffic');
    reg = await startTestRegistry();
    admin = new RegistryAdmin(reg.url, reg.adminKey);
    await admin.createModel('split');
    await admin.registerVersion('split', fixture(TREECL2), { featureNames: TREECL2_FEATURES });
    await admin.registerVersion('split', fixture(TREECL2), { featureNames: TREECL2_FEATURES, threshold: 0.9 });
    await admin.setAlias('split', 'champion', 1);
    await admin.setAlias('split', 'challenger', 2);
    await admin.setTraffic('split', 10);
    serving = await startTestServing({ registryUrl: reg.url, apiKey: await reg.createKey('predictor'), databaseUrl: db.url });
    client = new JsonClient(serving.url, await reg.createKey('predictor'));
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
  });
  after(async () => {
    client?.close();
    await serving?.close();
    await pool?.end();
    await reg?.close();
    await db?.drop();
  });

  let at10: Map<string, string>;

  it('sends 10% of 10,000 entities to the challenger, within the 99.9% binomial interval, as the shared hash says', async () => {
    at10 = await arms(10_000);
    const challenger = [...at10.values()].filter((v) => v === 'challenger').length;
    assert.ok(Math.abs(challenger / 10_000 - 0.1) <= halfWidth999(10_000, 0.1), `${challenger} of 10,000`);
    for (const [id, variant] of at10) assert.equal(variant === 'challenger', assignsChallenger('split', id, 10), id);
  });

  it('gives every entity the same arm on repeated calls', async () => {
    const again = await arms(10_000);
    assert.deepEqual(again, at10);
    for (let i = 0; i < 50; i++) {
      const res = await client.post<{ variant: string }>('/predict', { model: 'split', entityId: `cust-${i}`, features: ZEROS });
      assert.equal(res.body.variant, at10.get(`cust-${i}`));
    }
  });

  it('keeps the 10% challenger entities in the challenger at 30%, and sends 50% there at 50%', async () => {
    await admin.setTraffic('split', 30);
    await waitForPercent(30, 'split');
    const at30 = await arms(10_000);
    for (const [id, variant] of at10) if (variant === 'challenger') assert.equal(at30.get(id), 'challenger', `${id} moved back`);
    const share30 = [...at30.values()].filter((v) => v === 'challenger').length / 10_000;
    assert.ok(Math.abs(share30 - 0.3) <= halfWidth999(10_000, 0.3), `share ${share30}`);
    await admin.setTraffic('split', 50);
    await waitForPercent(50, 'split');
    const at50 = await arms(10_000);
    const share50 = [...at50.values()].filter((v) => v === 'challenger').length / 10_000;
    assert.ok(Math.abs(share50 - 0.5) <= halfWidth999(10_000, 0.5), `share ${share50}`);
  });

  it('in shadow mode answers with the champion only and records both scores under the same request id', async () => {
    await admin.setTraffic('split', 50, 'shadow');
    await waitForPercent(50, 'shadow');
    const ids = Array.from({ length: 200 }, (_, i) => `shadow-${i}`);
    for (const id of ids) {
      const res = await client.post<{ variant: string; version: number }>('/predict', { model: 'split', entityId: id, features: ZEROS }, { 'x-request-id': `req-${id}` });
      assert.equal(res.status, 200);
      assert.equal(res.body.variant, 'champion');
      assert.equal(res.body.version, 1);
    }
    await serving.container.predictor.drain();
    await serving.container.predictionLog.flush();
    const { rows } = await pool.query<{ request_id: string; variant: string; version: number; score: number; label: number }>(
      `SELECT request_id, variant, version, score, label FROM serving.prediction WHERE request_id LIKE 'req-shadow-%' ORDER BY request_id, variant`,
    );
    const byRequest = new Map<string, typeof rows>();
    for (const r of rows) byRequest.set(r.request_id, [...(byRequest.get(r.request_id) ?? []), r]);
    for (const id of ids) {
      const logged = byRequest.get(`req-${id}`) ?? [];
      if (assignsChallenger('split', id, 50)) {
        assert.deepEqual(logged.map((r) => [r.variant, r.version]), [['champion', 1], ['shadow', 2]], id);
        assert.equal(logged[0]!.score, logged[1]!.score, 'same model bytes, same score');
        assert.equal(logged[1]!.label, logged[1]!.score >= 0.9 ? 1 : 0, "the shadow label uses the challenger's threshold");
      } else {
        assert.deepEqual(logged.map((r) => r.variant), ['champion'], id);
      }
    }
  });
});
