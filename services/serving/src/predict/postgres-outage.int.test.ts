import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '@contender/platform/testing';
import { startTestRegistry, type TestRegistry } from '@contender/registry/testing';
import { startTestServing, type TestServing } from '../testing.js';
import { JsonClient } from '../test/http-client.js';
import { RegistryAdmin, TREECL2, TREECL2_FEATURES, fixture } from '../test/registry-fixtures.js';
import { startTcpProxy, type TcpProxy } from '../testing/tcp-proxy.js';

const features = (i: number) => Object.fromEntries(TREECL2_FEATURES.map((n, j) => [n, ((i * 3 + j) % 17) / 4 - 2]));

describe('a Postgres outage under load', () => {
  let db: TestDatabase;
  let reg: TestRegistry;
  let proxy: TcpProxy;
  let serving: TestServing;
  let client: JsonClient;
  let direct: pg.Pool;

  before(async () => {
    db = await createTestDatabase('serving_pg_outage');
    reg = await startTestRegistry();
    const admin = new RegistryAdmin(reg.url, reg.adminKey);
    await admin.createModel('credit');
    await admin.registerVersion('credit', fixture(TREECL2), { featureNames: TREECL2_FEATURES });
    await admin.registerVersion('credit', fixture(TREECL2), { featureNames: TREECL2_FEATURES });
    await admin.setAlias('credit', 'champion', 1);
    await admin.setAlias('credit', 'challenger', 2);
    await admin.setTraffic('credit', 30, 'shadow');
    // Serving reaches Postgres only through a proxy the test can cut; the test reads directly.
    const url = new URL(db.url);
    proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    serving = await startTestServing({
      registryUrl: reg.url,
      apiKey: await reg.createKey('predictor'),
      databaseUrl: proxy.rewrite(db.url),
      env: { PREDICTION_LOG_FLUSH_MS: '50' },
    });
    client = new JsonClient(serving.url, await reg.createKey('predictor'), 32);
    direct = new pg.Pool({ connectionString: db.url, max: 2 });
  });
  after(async () => {
    client?.close();
    await serving?.close();
    await proxy?.close();
    await direct?.end();
    await reg?.close();
    await db?.drop();
  });

  it('answers every request while Postgres is unreachable, and afterwards the table holds exactly one row per answer', async () => {
    const answered: string[] = [];
    const failed: unknown[] = [];
    let stop = false;
    let count = 0;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const res = await client.post<{ predictionId: string }>('/predict', { model: 'credit', entityId: `w${w}-${i % 50}`, features: features(i) });
        count++;
        if (res.status === 200) answered.push(res.body.predictionId);
        else failed.push(res.body);
      }
    };
    const waitForCount = async (n: number) => {
      const deadline = Date.now() + 15_000;
      while (count < n) {
        if (Date.now() > deadline) throw new Error(`only ${count} requests`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const workers = Array.from({ length: 16 }, (_, w) => worker(w));
    await waitForCount(300);
    proxy.cut();
    const cutAt = count;
    await waitForCount(cutAt + 1_000);
    const during = await client.get<{ ready: boolean; checks: { predictionLog: { ok: boolean; detail?: string } } }>('/readyz');
    proxy.restore();
    await waitForCount(count + 500);
    stop = true;
    await Promise.all(workers);

    assert.deepEqual(failed, [], 'no request failed');
    assert.equal(during.status, 200, 'still ready: predictions are spilled, not lost');
    assert.match(during.body.checks.predictionLog.detail ?? '', /spill/);

    await serving.container.predictor.drain();
    // The spill file is replayed in the background once Postgres answers: wait for it.
    const deadline = Date.now() + 30_000;
    let rows = { n: 0, ids: 0, answers: 0 };
    for (;;) {
      await serving.container.predictionLog.flush();
      const r = await direct.query<{ n: number; ids: number; answers: number }>(
        `SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids, count(*) FILTER (WHERE variant <> 'shadow')::int AS answers FROM serving.prediction`,
      );
      rows = r.rows[0]!;
      if ((rows.answers >= answered.length && !serving.container.predictionLog.hasSpillBacklog()) || Date.now() > deadline) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(rows.answers, answered.length, 'one row per answered prediction');
    assert.equal(rows.ids, rows.n, 'no prediction twice');
    const { rows: missing } = await direct.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM unnest($1::uuid[]) AS a(id) WHERE NOT EXISTS (SELECT 1 FROM serving.prediction p WHERE p.id = a.id)`,
      [answered],
    );
    assert.equal(missing[0]!.n, 0, 'every answered prediction id is in the table');
  });
});
