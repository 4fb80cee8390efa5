import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import request from 'supertest';
import { REGISTRY_EVENTS_CHANNEL, type AuditEvent, type DeploymentState } from '@contender/contracts';
import { startTestRegistry, type TestRegistry } from '../testing.js';
import { TREECL2, TREECL2_FEATURES, auth, createModel, fixture, uploadVersion } from './fixtures.js';

describe('aliases, traffic, promotion, rollback and the audit trail', () => {
  let reg: TestRegistry;
  let key: string;
  const bytes = fixture(TREECL2);

  const register = async (model: string, auc?: number) =>
    (await uploadVersion(reg.app, key, model, bytes, { featureNames: TREECL2_FEATURES, ...(auc === undefined ? {} : { metrics: { auc } }) }).expect(201)).body.version as number;
  const put = (path: string, body: object) => request(reg.app).put(`/api/v1/models/${path}`).set(auth(key)).send(body);
  const post = (path: string, body: object = {}) => request(reg.app).post(`/api/v1/models/${path}`).set(auth(key)).send(body);
  const getModel = async (name: string) => (await request(reg.app).get(`/api/v1/models/${name}`).set(auth(key)).expect(200)).body;
  const events = async (name: string): Promise<AuditEvent[]> => {
    const out: AuditEvent[] = [];
    let cursor: number | null = 0;
    while (cursor !== null) {
      const page: request.Response = await request(reg.app).get(`/api/v1/models/${name}/events?limit=50&after=${cursor}`).set(auth(key)).expect(200);
      out.push(...page.body.items);
      cursor = page.body.nextCursor;
    }
    return out;
  };

  before(async () => {
    reg = await startTestRegistry();
    key = await reg.createKey('data-scientist', 'alice');
  });
  after(() => reg.close());

  it('moves aliases and reports them on the model, each move audited with actor, before, after and reason', async () => {
    await createModel(reg.app, key, { name: 'a1', task: 'binary_classification' }).expect(201);
    await register('a1', 0.7);
    await register('a1', 0.72);
    await put('a1/aliases/champion', { version: 1, reason: 'first' }).expect(200);
    const m = (await put('a1/aliases/challenger', { version: 2 }).expect(200)).body;
    assert.deepEqual(m.aliases, { champion: 1, challenger: 2 });
    assert.equal(m.latestVersion, 2);
    const ev = (await events('a1')).filter((e) => e.action === 'alias.set');
    assert.equal(ev.length, 2);
    assert.match(ev[0]!.actor, /^alice#\d+$/, 'the actor is the key name and its id');
    assert.equal(ev[0]!.reason, 'first');
    assert.deepEqual((ev[0]!.before as DeploymentState).aliases, {});
    assert.deepEqual((ev[0]!.after as DeploymentState).aliases, { champion: 1 });
    const v2 = (await request(reg.app).get('/api/v1/models/a1/versions/2').set(auth(key)).expect(200)).body;
    assert.deepEqual(v2.aliases, ['challenger']);
  });

  it('refuses to put champion and challenger on one version', async () => {
    const res = await put('a1/aliases/challenger', { version: 1 }).expect(409);
    assert.equal(res.body.error.code, 'alias_conflict');
  });

  it('answers 404 for an alias to a missing version, a missing model or a missing alias', async () => {
    assert.equal((await put('a1/aliases/champion', { version: 99 }).expect(404)).body.error.code, 'version_not_found');
    assert.equal((await put('zz/aliases/champion', { version: 1 }).expect(404)).body.error.code, 'model_not_found');
    assert.equal((await request(reg.app).delete('/api/v1/models/a1/aliases/staging').set(auth(key)).expect(404)).body.error.code, 'alias_not_found');
    assert.equal((await request(reg.app).get('/api/v1/models/a1/versions/99').set(auth(key)).expect(404)).body.error.code, 'version_not_found');
  });

  it('validates alias names and version numbers with the field in the message', async () => {
    const badAlias = await put('a1/aliases/Bad!', { version: 1 }).expect(400);
    assert.match(badAlias.body.error.message, /^alias: /);
    const badVersion = await put('a1/aliases/champion', { version: 'one' }).expect(400);
    assert.match(badVersion.body.error.message, /^version: /);
  });

  it('sets the traffic share, refuses a share without a challenger, and zeroes it when the challenger goes', async () => {
    const m = (await put('a1/traffic', { challengerPercent: 12.5, mode: 'shadow' }).expect(200)).body;
    assert.deepEqual(m.traffic, { challengerPercent: 12.5, mode: 'shadow' });
    const bad = await put('a1/traffic', { challengerPercent: 150, mode: 'split' }).expect(400);
    assert.match(bad.body.error.message, /challengerPercent/);
    const decimals = await put('a1/traffic', { challengerPercent: 10.123, mode: 'split' }).expect(400);
    assert.match(decimals.body.error.message, /two decimals/);
    const removed = (await request(reg.app).delete('/api/v1/models/a1/aliases/challenger?reason=done').set(auth(key)).expect(200)).body;
    assert.deepEqual(removed.traffic, { challengerPercent: 0, mode: 'shadow' });
    const res = await put('a1/traffic', { challengerPercent: 5, mode: 'split' }).expect(409);
    assert.equal(res.body.error.code, 'no_challenger');
    await put('a1/traffic', { challengerPercent: 0, mode: 'split' }).expect(200);
  });

  it('promotes the challenger in one step: champion moves, challenger goes, share returns to 0', async () => {
    await createModel(reg.app, key, { name: 'p1', task: 'binary_classification' }).expect(201);
    await register('p1', 0.7);
    await register('p1', 0.75);
    await put('p1/aliases/champion', { version: 1 }).expect(200);
    await put('p1/aliases/challenger', { version: 2 }).expect(200);
    await put('p1/traffic', { challengerPercent: 30, mode: 'split' }).expect(200);
    const m = (await post('p1/promote', { reason: 'better auc' }).expect(200)).body;
    assert.deepEqual(m.aliases, { champion: 2 });
    assert.deepEqual(m.traffic, { challengerPercent: 0, mode: 'split' });
    const promoted = (await events('p1')).at(-1)!;
    assert.equal(promoted.action, 'model.promoted');
    assert.equal(promoted.reason, 'better auc');
    assert.deepEqual((promoted.after as { gate: object }).gate, {
      metric: 'auc',
      goal: 'maximize',
      challenger: { version: 2, value: 0.75 },
      champion: { version: 1, value: 0.7 },
      passed: true,
      forced: false,
    });
  });

  it('blocks a promotion whose challenger is worse on the primary metric, naming both numbers, unless forced with a reason', async () => {
    await register('p1', 0.6); // v3
    await put('p1/aliases/challenger', { version: 3 }).expect(200);
    const res = await post('p1/promote').expect(409);
    assert.equal(res.body.error.code, 'promotion_gate_failed');
    assert.match(res.body.error.message, /auc 0\.6/);
    assert.match(res.body.error.message, /0\.75/);
    assert.deepEqual((await getModel('p1')).aliases, { champion: 2, challenger: 3 });
    const noReason = await post('p1/promote', { force: true }).expect(400);
    assert.match(noReason.body.error.message, /reason: a forced promotion needs a reason/);
    const forced = (await post('p1/promote', { force: true, reason: 'calibration fix' }).expect(200)).body;
    assert.deepEqual(forced.aliases, { champion: 3 });
  });

  it('with metricGoal minimize, promotes the challenger with the lower value and blocks the higher one, naming both numbers', async () => {
    await createModel(reg.app, key, { name: 'pmin', task: 'binary_classification', primaryMetric: 'log_loss', metricGoal: 'minimize' }).expect(201);
    const withLoss = async (logLoss: number) =>
      (await uploadVersion(reg.app, key, 'pmin', bytes, { featureNames: TREECL2_FEATURES, metrics: { log_loss: logLoss } }).expect(201)).body.version as number;
    await put(`pmin/aliases/champion`, { version: await withLoss(0.41) }).expect(200);
    await put(`pmin/aliases/challenger`, { version: await withLoss(0.37) }).expect(200);
    const promoted = (await post('pmin/promote', { reason: 'lower log loss' }).expect(200)).body;
    assert.equal(promoted.aliases.champion, 2);
    const gate = ((await events('pmin')).at(-1)!.after as { gate: Record<string, unknown> }).gate;
    assert.deepEqual(gate, { metric: 'log_loss', goal: 'minimize', challenger: { version: 2, value: 0.37 }, champion: { version: 1, value: 0.41 }, passed: true, forced: false });

    await put(`pmin/aliases/challenger`, { version: await withLoss(0.52) }).expect(200);
    const res = await post('pmin/promote').expect(409);
    assert.equal(res.body.error.code, 'promotion_gate_failed');
    assert.match(res.body.error.message, /challenger version 3 has log_loss 0\.52, above champion version 2's 0\.37/);
    assert.equal(res.body.error.details.goal, 'minimize');
    assert.equal((await getModel('pmin')).aliases.champion, 2, 'the champion stays');
  });

  it('makes the challenger champion when there is no champion yet', async () => {
    await createModel(reg.app, key, { name: 'p2', task: 'binary_classification' }).expect(201);
    await register('p2');
    await put('p2/aliases/challenger', { version: 1 }).expect(200);
    assert.deepEqual((await post('p2/promote').expect(200)).body.aliases, { champion: 1 });
    assert.equal((await post('p2/promote').expect(409)).body.error.code, 'no_challenger');
  });

  it('rolls back through the history of champions, one step per call', async () => {
    // p1's champions so far: 1 (set), 2 (promoted), 3 (forced).
    assert.deepEqual((await post('p1/rollback', { reason: 'latency' }).expect(200)).body.aliases, { champion: 2 });
    assert.deepEqual((await post('p1/rollback').expect(200)).body.aliases, { champion: 1 });
    const res = await post('p1/rollback').expect(409);
    assert.equal(res.body.error.code, 'nothing_to_roll_back');
    assert.deepEqual((await getModel('p1')).aliases, { champion: 1 });
  });

  it('publishes each committed change on the registry channel', async () => {
    const sub = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
    try {
      const got: unknown[] = [];
      await sub.subscribe(REGISTRY_EVENTS_CHANNEL);
      const arrived = new Promise<void>((resolve) =>
        sub.on('message', (_c, msg) => {
          const m = JSON.parse(msg) as { model: string };
          if (m.model === 'p2') {
            got.push(m);
            resolve();
          }
        }),
      );
      await register('p2');
      await put('p2/aliases/challenger', { version: 2 }).expect(200);
      await arrived;
      const last = (await events('p2')).filter((e) => e.action === 'version.registered').at(-1)!;
      assert.deepEqual(got[0], { model: 'p2', action: 'version.registered', eventId: last.id });
    } finally {
      sub.disconnect();
    }
  });

  it('keeps exactly one champion under 20 concurrent alias moves and promotions, and the audit trail replays to the final state', async () => {
    await createModel(reg.app, key, { name: 'race', task: 'binary_classification' }).expect(201);
    for (let i = 0; i < 6; i++) await register('race', 0.7 + i / 100);
    await put('race/aliases/champion', { version: 1 }).expect(200);
    const ops = Array.from({ length: 20 }, (_, i) => {
      const v = (i % 6) + 1;
      switch (i % 4) {
        case 0:
          return put('race/aliases/champion', { version: v });
        case 1:
          return put('race/aliases/challenger', { version: v });
        case 2:
          return post('race/promote', { force: true, reason: `race ${i}` });
        default:
          return put('race/traffic', { challengerPercent: i, mode: 'split' });
      }
    });
    const results = await Promise.all(ops);
    for (const r of results) assert.ok([200, 409].includes(r.status), `${r.status} ${JSON.stringify(r.body)}`);

    const { rows } = await reg.container.pool.query(
      `SELECT count(*)::int AS n FROM registry.model_alias a JOIN registry.model m ON m.id = a.model_id WHERE m.name = 'race' AND a.alias = 'champion'`,
    );
    assert.equal(rows[0].n, 1);

    // Replay: each event's `before` is the state the previous one left, and the last `after` is now.
    let state: DeploymentState = { aliases: {}, traffic: { challengerPercent: 0, mode: 'split' } };
    for (const e of await events('race')) {
      if (e.action === 'model.created' || e.action === 'version.registered') continue;
      assert.deepEqual(e.before, state, `event ${e.id} (${e.action}) does not start where the trail left off`);
      const a = e.after as DeploymentState;
      state = { aliases: a.aliases, traffic: a.traffic };
    }
    const model = await getModel('race');
    assert.deepEqual(state, { aliases: model.aliases, traffic: model.traffic });
    assert.ok(model.aliases.champion >= 1);
  });

  it('refuses updates and deletes of the audit trail in the database itself', async () => {
    await assert.rejects(reg.container.pool.query("UPDATE registry.audit_event SET actor = 'mallory'"), /append-only/);
    await assert.rejects(reg.container.pool.query('DELETE FROM registry.audit_event'), /append-only/);
    await assert.rejects(reg.container.pool.query('TRUNCATE registry.audit_event'), /append-only/);
  });

  it('lists deployments with champion, challenger, the version a rollback would restore, and traffic', async () => {
    await createModel(reg.app, key, { name: 'd1', task: 'binary_classification' }).expect(201);
    await register('d1', 0.7);
    await register('d1', 0.8);
    await register('d1', 0.9);
    await put('d1/aliases/champion', { version: 1 }).expect(200);
    await put('d1/aliases/challenger', { version: 2 }).expect(200);
    await post('d1/promote').expect(200);
    await put('d1/aliases/challenger', { version: 3 }).expect(200);
    await put('d1/traffic', { challengerPercent: 25, mode: 'split' }).expect(200);
    const reader = await reg.createKey('predictor');
    const res = await request(reg.app).get('/api/v1/deployments?models=d1').set(auth(reader)).expect(200);
    assert.equal(res.body.items.length, 1);
    const d = res.body.items[0];
    assert.equal(d.champion.version, 2);
    assert.equal(d.challenger.version, 3);
    assert.equal(d.previousChampion.version, 1);
    assert.deepEqual(d.traffic, { challengerPercent: 25, mode: 'split' });
    assert.equal(d.champion.artifactPath, '/api/v1/models/d1/versions/2/artifact');
    assert.deepEqual(d.champion.featureNames, TREECL2_FEATURES);
    const lastEvent = (await events('d1')).at(-1)!;
    assert.equal(d.revision, lastEvent.id);
  });
});
