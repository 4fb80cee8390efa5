import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '@contender/platform/testing';
import { startTestRegistry, type TestRegistry } from '@contender/registry/testing';
import { startTestServing, type TestServing } from '../testing.js';
import { JsonClient } from '../test/http-client.js';
import { startRedisServer, type TestRedisServer } from '@contender/platform/testing';
import { RegistryAdmin, TREECL2, TREECL2_FEATURES, fixture } from '../test/registry-fixtures.js';

const features = (i: number) => Object.fromEntries(TREECL2_FEATURES.map((n, j) => [n, ((i * 31 + j * 7) % 100) / 25 - 2]));

interface Answer {
  status: number;
  version: number | undefined;
  startedAt: number;
  doneAt: number;
}

/** Longer than this file takes by far: no reconciliation tick happens while it runs. */
const EVENT_ONLY_RECONCILE_MS = 600_000;

describe('hot swap: following the registry without a failed request', () => {
  let db: TestDatabase;
  let reg: TestRegistry;
  let admin: RegistryAdmin;
  let serving: TestServing;
  let client: JsonClient;
  let pool: pg.Pool;
  let ownRedis: TestRedisServer | undefined;
  let registryClosed = false;
  let answered = 0;

  const predict = async (i: number): Promise<Answer> => {
    const startedAt = performance.now();
    const res = await client.post<{ version?: number }>('/predict', { model: 'swap', entityId: `e${i}`, features: features(i) });
    if (res.status === 200) answered++;
    return { status: res.status, version: res.body.version, startedAt, doneAt: performance.now() };
  };

  before(async () => {
    db = await createTestDatabase('serving_swap');
    reg = await startTestRegistry();
    admin = new RegistryAdmin(reg.url, reg.adminKey);
    await admin.createModel('swap');
    for (let i = 0; i < 3; i++) await admin.registerVersion('swap', fixture(TREECL2), { featureNames: TREECL2_FEATURES });
    await admin.setAlias('swap', 'champion', 1);
    await admin.setAlias('swap', 'challenger', 2);
    // The reconciliation timer is set far beyond any test's length, so a change that reaches this
    // instance can only have come by the registry's Redis event.
    serving = await startTestServing({
      registryUrl: reg.url,
      apiKey: await reg.createKey('predictor'),
      databaseUrl: db.url,
      env: { RECONCILE_INTERVAL_MS: String(EVENT_ONLY_RECONCILE_MS) },
    });
    client = new JsonClient(serving.url, await reg.createKey('predictor'), 256);
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
  });
  after(async () => {
    client?.close();
    await serving?.close();
    await pool?.end();
    await ownRedis?.stop();
    if (!registryClosed) await reg?.close();
    await db?.drop();
  });

  it('promotes during 2,000 concurrent requests: no error, every answer from the old or the new champion, the new one brought by the registry event', async () => {
    let done = 0;
    let eventAt = 0;
    let promoted: Promise<void> | undefined;
    const answers = await Promise.all(
      Array.from({ length: 2_000 }, (_, i) =>
        predict(i).then((a) => {
          if (++done === 400) {
            promoted = admin.promote('swap').then(() => {
              eventAt = performance.now();
            });
          }
          return a;
        }),
      ),
    );
    await promoted;
    assert.deepEqual(
      answers.filter((a) => a.status !== 200),
      [],
      'every request was answered',
    );
    assert.ok(answers.every((a) => a.version === 1 || a.version === 2));
    assert.ok(answers.some((a) => a.version === 1), 'the burst began on the old champion');
    // After the event, wait for the new champion if the burst ended before it. No bound on how
    // soon: the timer cannot fire within this test, so its arrival at all proves the event path.
    let firstNew = Math.min(...answers.filter((a) => a.version === 2).map((a) => a.doneAt));
    while (!Number.isFinite(firstNew) && performance.now() - eventAt < EVENT_ONLY_RECONCILE_MS / 2) {
      const a = await predict(99_999);
      if (a.version === 2) firstNew = a.doneAt;
    }
    assert.ok(Number.isFinite(firstNew), 'the new champion answered, by the registry event (the timer had not fired)');
    const stale = answers.filter((a) => a.version === 1 && a.startedAt > firstNew);
    assert.equal(stale.length, 0, 'once the new champion has answered, the old one never does again');
    const after = await predict(1);
    assert.equal(after.version, 2);
    assert.equal(serving.container.models.get('swap')?.previousChampion?.version, 1, 'the old champion stays warm for fallback');
  });

  // The sha256 check on load is shown in artifact-integrity.int.test.ts.
  it('loads and warms a champion it was not serving before routing to it, failing no request meanwhile', async () => {
    const answers: Answer[] = [];
    let stop = false;
    const load = (async () => {
      let i = 0;
      while (!stop) answers.push(...(await Promise.all(Array.from({ length: 20 }, () => predict(i++)))));
    })();
    await admin.setAlias('swap', 'champion', 3);
    const deadline = Date.now() + 60_000;
    while (!answers.some((a) => a.version === 3) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    stop = true;
    await load;
    assert.ok(answers.some((a) => a.version === 3), 'v3 answered');
    assert.deepEqual(answers.filter((a) => a.status !== 200), []);
    const firstV3 = answers.findIndex((a) => a.version === 3);
    assert.ok(answers.slice(0, firstV3).every((a) => a.version === 2));
  });

  it('records exactly one prediction row per answer', async () => {
    await serving.container.predictionLog.flush();
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM serving.prediction');
    assert.equal(rows[0]!.n, answered);
  });

  it('picks up a change whose event it never received at the next reconciliation', async () => {
    // Its own Redis: the registry's events never reach this instance; only the timer can.
    ownRedis = await startRedisServer();
    const db2 = await createTestDatabase('serving_swap_timer');
    const deaf = await startTestServing({
      registryUrl: reg.url,
      apiKey: await reg.createKey('predictor'),
      databaseUrl: db2.url,
      redisUrl: ownRedis.url,
      env: { RECONCILE_INTERVAL_MS: '200' },
    });
    try {
      assert.equal(deaf.container.models.get('swap')?.champion.version, 3);
      await admin.setTraffic('swap', 0);
      await admin.setAlias('swap', 'challenger', 1);
      await admin.setTraffic('swap', 40);
      const deadline = Date.now() + 5_000;
      while (deaf.container.models.get('swap')?.challengerPercent !== 40 && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          const off = deaf.container.models.onApplied(() => {
            off();
            resolve();
          });
        });
      }
      const m = deaf.container.models.get('swap');
      assert.equal(m?.challenger?.version, 1);
      assert.equal(m?.challengerPercent, 40);
    } finally {
      await deaf.close();
      await db2.drop();
    }
  });

  it('keeps answering with what it has when the registry goes away, and /readyz says so', async () => {
    await reg.close();
    registryClosed = true;
    await serving.container.models.reconcile();
    const res = await predict(7);
    assert.equal(res.status, 200);
    const ready = await client.get<{ ready: boolean; checks: Record<string, { ok: boolean; detail?: string }> }>('/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.checks.models!.ok, true);
    assert.equal(ready.body.checks.registry!.ok, false);
    assert.match(ready.body.checks.registry!.detail!, /registry unreachable .*; serving the deployments last seen at/);
  });
});
