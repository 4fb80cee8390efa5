import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { z } from 'zod';
import { defineDag, SkipRun, UnrecoverableStepError, type DagDefinition } from '@contender/pipeline';
import { createTestDatabase, type TestDatabase } from '@contender/platform/testing';
import { startTestRegistry, type TestRegistry } from '@contender/registry/testing';
import { ExecutionCounter, startTestScheduler, waitFor, type TestScheduler } from '../testing.js';

/** Gates a step until the test opens it (per run id), checking the signal while it waits. */
const gates = new Map<string, () => void>();
const aborted = new Map<string, string>();
const waitAtGate = (runId: string, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    gates.set(runId, resolve);
    signal.addEventListener('abort', () => {
      aborted.set(runId, String((signal.reason as Error)?.message ?? signal.reason));
      reject(signal.reason);
    });
  });

let counter: ExecutionCounter;

function testDags(): DagDefinition[] {
  const count = (step: string) => async (ctx: { runId: string }) => counter.record(ctx.runId, step);
  return [
    defineDag({
      id: 'quick',
      description: 'two steps that count themselves',
      cron: '0 3 * * *',
      params: z.object({ n: z.number().int().min(1).default(1), label: z.string().default('x') }),
      steps: [
        { name: 'a', run: async (ctx) => { await count('a')(ctx); return { n: ctx.params.n }; } },
        { name: 'b', run: async (ctx) => { await count('b')(ctx); return { twice: (ctx.outputs.a as { n: number }).n * 2 }; } },
      ],
    }),
    defineDag({
      id: 'gate',
      description: 'waits at a gate the test opens',
      cron: '0 3 * * *',
      params: z.object({}),
      steps: [{ name: 'hold', run: async (ctx) => { await count('hold')(ctx); await waitAtGate(ctx.runId, ctx.signal); return 'opened'; } }],
    }),
    defineDag({
      id: 'slow',
      description: 'outlives its timeout',
      cron: '0 3 * * *',
      params: z.object({}),
      steps: [{ name: 'crawl', timeoutMs: 300, run: async (ctx) => { await count('crawl')(ctx); await waitAtGate(ctx.runId, ctx.signal); } }],
    }),
    defineDag({
      id: 'flaky',
      description: 'fails twice, then succeeds',
      cron: '0 3 * * *',
      params: z.object({}),
      steps: [
        {
          name: 'try',
          retries: { max: 3, backoffMs: 1000 },
          run: async (ctx) => {
            await count('try')(ctx);
            if (ctx.attempt < 3) throw new Error(`attempt ${ctx.attempt} fails`);
            return { attempt: ctx.attempt };
          },
        },
      ],
    }),
    defineDag({
      id: 'catchup',
      description: 'runs the latest missed occurrence once',
      cron: '*/10 * * * *',
      missedRuns: 'once',
      params: z.object({}),
      steps: [{ name: 'only', run: async (ctx) => count('only')(ctx) }],
    }),
    defineDag({
      id: 'backoff',
      description: 'fails, then waits a long backoff',
      cron: '0 3 * * *',
      params: z.object({}),
      steps: [{ name: 'fail', retries: { max: 1, backoffMs: 60_000 }, run: async (ctx) => { await count('fail')(ctx); throw new Error('not yet'); } }],
    }),
    defineDag({
      id: 'fatal',
      description: 'fails with no retry',
      cron: '0 3 * * *',
      params: z.object({}),
      steps: [{ name: 'load', retries: { max: 3, backoffMs: 1000 }, run: async (ctx) => { await count('load')(ctx); throw new UnrecoverableStepError('dataset "x" does not exist'); } }],
    }),
    defineDag({
      id: 'skipper',
      description: 'skips itself',
      cron: '0 3 * * *',
      params: z.object({}),
      steps: [
        { name: 'check', run: async () => { throw new SkipRun('too few rows: 3 < 100'); } },
        { name: 'never', run: async (ctx) => count('never')(ctx) },
      ],
    }),
    defineDag({
      id: 'parent',
      description: 'triggers quick twice with the same request',
      cron: '0 3 * * *',
      params: z.object({}),
      steps: [
        {
          name: 'fan-out',
          run: async (ctx) => {
            const first = await ctx.triggerRun({ dag: 'quick', model: ctx.model, params: { n: 5 }, trigger: 'drift', cause: 'test' });
            const second = await ctx.triggerRun({ dag: 'quick', model: ctx.model, params: { n: 5 }, trigger: 'drift', cause: 'test' });
            return { first, second, key: ctx.idempotencyKey('register'), again: ctx.idempotencyKey('register') };
          },
        },
      ],
    }),
    defineDag({
      id: 'reporter',
      description: 'reports progress and reads through ctx.db',
      cron: '0 3 * * *',
      params: z.object({}),
      steps: [
        {
          name: 'work',
          run: async (ctx) => {
            const read = await ctx.db.query<{ one: number }>('SELECT 1 AS one');
            const write = await ctx.db.query('CREATE TABLE public.should_not_exist (x int)').then(() => 'written', (e: Error) => e.message);
            ctx.progress({ done: 40, total: 100, unit: 'rows' });
            await waitAtGate(ctx.runId, ctx.signal);
            return { read: read.rows[0]!.one, write };
          },
        },
      ],
    }),
  ];
}

describe('scheduler API and runner (one replica in-process)', () => {
  let registry: TestRegistry;
  let database: TestDatabase;
  let s: TestScheduler;
  let ds: string;
  let reader: string;
  let predictor: string;
  const auth = (key: string) => ({ authorization: `Bearer ${key}` });
  const api = () => request(s.app);
  const run = async (id: string) => (await api().get(`/api/v1/runs/${id}`).set(auth(reader)).expect(200)).body;
  const until = (id: string, statuses: string[]) =>
    waitFor(`run ${id} to reach ${statuses.join('|')}`, async () => {
      const r = await run(id);
      return statuses.includes(r.status) ? r : undefined;
    });
  const trigger = async (dag: string, model = 'm1', params?: object) =>
    String((await api().post(`/api/v1/dags/${dag}/runs`).set(auth(ds)).send({ model, ...(params ? { params } : {}) }).expect(202)).body.runId);

  before(async () => {
    registry = await startTestRegistry();
    database = await createTestDatabase('scheduler_api');
    counter = await ExecutionCounter.open(database.url);
    const own = await registry.createKey('data-scientist', 'scheduler');
    ds = await registry.createKey('data-scientist');
    reader = await registry.createKey('reader');
    predictor = await registry.createKey('predictor');
    s = await startTestScheduler({ dags: testDags(), databaseUrl: database.url, registryUrl: registry.url, apiKey: own });
  });
  after(async () => {
    for (const open of gates.values()) open();
    await s?.close();
    await counter?.close();
    await database?.drop();
    await registry?.close();
  });

  describe('4xx answers', () => {
    it('refuses a bad cron with 400 naming cron', async () => {
      const r = await api().put('/api/v1/schedules/quick/m1').set(auth(ds)).send({ cron: '61 * * * *' }).expect(400);
      assert.equal(r.body.error.code, 'validation_failed');
      assert.equal(r.body.error.details[0].path, 'cron');
      assert.match(r.body.error.message, /minute/);
      const fields = await api().put('/api/v1/schedules/quick/m1').set(auth(ds)).send({ cron: 'every day' }).expect(400);
      assert.equal(fields.body.error.details[0].path, 'cron');
    });

    it("refuses params that do not fit the DAG's schema with 400 naming the field, and stores nothing", async () => {
      const r = await api().put('/api/v1/schedules/quick/m2').set(auth(ds)).send({ params: { n: 0 } }).expect(400);
      assert.equal(r.body.error.details[0].path, 'params.n');
      const t = await api().post('/api/v1/dags/quick/runs').set(auth(ds)).send({ model: 'm2', params: { label: 7 } }).expect(400);
      assert.equal(t.body.error.details[0].path, 'params.label');
      const list = await api().get('/api/v1/schedules?model=m2').set(auth(reader)).expect(200);
      assert.deepEqual(list.body.items, []);
      const runs = await api().get('/api/v1/runs?model=m2').set(auth(reader)).expect(200);
      assert.deepEqual(runs.body.items, []);
    });

    it('answers 404 for an unknown DAG, run or schedule', async () => {
      for (const [method, path] of [
        ['put', '/api/v1/schedules/nope/m1'],
        ['post', '/api/v1/dags/nope/runs'],
        ['get', '/api/v1/dags/nope'],
        ['delete', '/api/v1/schedules/nope/m1'],
      ] as const) {
        const r = await api()[method](path).set(auth(ds)).send({ model: 'm1' }).expect(404);
        assert.equal(r.body.error.code, 'dag_not_found', `${method} ${path}`);
      }
      assert.equal((await api().get('/api/v1/runs/999999').set(auth(reader)).expect(404)).body.error.code, 'run_not_found');
      assert.equal((await api().get('/api/v1/runs/abc').set(auth(reader)).expect(404)).body.error.code, 'run_not_found');
      assert.equal((await api().post('/api/v1/runs/999999/cancel').set(auth(ds)).expect(404)).body.error.code, 'run_not_found');
      assert.equal((await api().delete('/api/v1/schedules/quick/never-scheduled').set(auth(ds)).expect(404)).body.error.code, 'schedule_not_found');
    });

    it('answers 400 for a bad model name, an unknown body field, a bad filter or cursor', async () => {
      assert.equal((await api().post('/api/v1/dags/quick/runs').set(auth(ds)).send({ model: 'Bad Name' }).expect(400)).body.error.details[0].path, 'model');
      assert.equal((await api().put('/api/v1/schedules/quick/Bad%20Name').set(auth(ds)).send({}).expect(400)).body.error.details[0].path, 'model');
      await api().post('/api/v1/dags/quick/runs').set(auth(ds)).send({}).expect(400);
      await api().put('/api/v1/schedules/quick/m1').set(auth(ds)).send({ crons: '* * * * *' }).expect(400);
      assert.equal((await api().get('/api/v1/runs?status=done').set(auth(reader)).expect(400)).body.error.details[0].path, 'status');
      assert.equal((await api().get('/api/v1/runs?cursor=x').set(auth(reader)).expect(400)).body.error.details[0].path, 'cursor');
      assert.equal((await api().get('/api/v1/runs?limit=0').set(auth(reader)).expect(400)).body.error.details[0].path, 'limit');
    });

    it('answers 409 when cancelling a run that has ended', async () => {
      const id = await trigger('quick', 'ended');
      await until(id, ['succeeded']);
      assert.equal((await api().post(`/api/v1/runs/${id}/cancel`).set(auth(ds)).expect(409)).body.error.code, 'run_finished');
    });
  });

  describe('roles', () => {
    it('needs a key: 401 without one or with an unknown one', async () => {
      await api().get('/api/v1/dags').expect(401);
      await api().get('/api/v1/runs').set(auth('ctk_unknown_key_000000')).expect(401);
      await api().post('/api/v1/dags/quick/runs').send({ model: 'm1' }).expect(401);
    });

    it('lets a reader GET but not PUT, POST or DELETE', async () => {
      await api().get('/api/v1/dags').set(auth(reader)).expect(200);
      await api().get('/api/v1/schedules').set(auth(reader)).expect(200);
      await api().get('/api/v1/runs').set(auth(reader)).expect(200);
      await api().put('/api/v1/schedules/quick/m1').set(auth(reader)).send({}).expect(403);
      await api().post('/api/v1/dags/quick/runs').set(auth(reader)).send({ model: 'm1' }).expect(403);
      await api().delete('/api/v1/schedules/quick/m1').set(auth(reader)).expect(403);
      await api().post('/api/v1/runs/1/cancel').set(auth(reader)).expect(403);
    });

    it('does not let a predictor trigger or schedule', async () => {
      const r = await api().post('/api/v1/dags/quick/runs').set(auth(predictor)).send({ model: 'm1' }).expect(403);
      assert.match(r.body.error.message, /data-scientist/);
      await api().put('/api/v1/schedules/quick/m1').set(auth(predictor)).send({}).expect(403);
    });
  });

  describe('schedules', () => {
    it("creates with the DAG's cron, keeps omitted fields on change, lists with filters and deletes", async () => {
      const created = await api().put('/api/v1/schedules/quick/keep').set(auth(ds)).send({ params: { n: 2 } }).expect(201);
      assert.equal(created.body.cron, '0 3 * * *');
      assert.equal(created.body.enabled, true);
      assert.match(created.body.nextRun, /T03:00:00\.000Z$/);
      const changed = await api().put('/api/v1/schedules/quick/keep').set(auth(ds)).send({ enabled: false }).expect(200);
      assert.deepEqual([changed.body.cron, changed.body.params, changed.body.enabled, changed.body.nextRun], ['0 3 * * *', { n: 2 }, false, null]);
      const recron = await api().put('/api/v1/schedules/quick/keep').set(auth(ds)).send({ cron: '*/30 * * * * *' }).expect(200);
      assert.deepEqual([recron.body.cron, recron.body.params, recron.body.enabled], ['*/30 * * * * *', { n: 2 }, false]);
      const list = await api().get('/api/v1/schedules?dag=quick&model=keep').set(auth(reader)).expect(200);
      assert.equal(list.body.items.length, 1);
      const detail = await api().get('/api/v1/dags/quick').set(auth(reader)).expect(200);
      assert.ok(detail.body.schedules.some((x: { model: string }) => x.model === 'keep'));
      await api().delete('/api/v1/schedules/quick/keep').set(auth(ds)).expect(204);
      assert.deepEqual((await api().get('/api/v1/schedules?model=keep').set(auth(reader)).expect(200)).body.items, []);
    });
  });

  describe('runs', () => {
    it('runs a manual trigger to the end: every step once, outputs passed on and stored', async () => {
      const id = await trigger('quick', 'm1', { n: 4 });
      const r = await until(id, ['succeeded', 'failed']);
      assert.equal(r.status, 'succeeded');
      assert.equal(r.trigger, 'manual');
      assert.deepEqual(r.params, { n: 4, label: 'x' });
      assert.deepEqual(r.output, { twice: 8 });
      assert.deepEqual(r.steps.map((x: { name: string; status: string; attempts: number }) => [x.name, x.status, x.attempts]), [['a', 'succeeded', 1], ['b', 'succeeded', 1]]);
      assert.deepEqual(r.steps[0].output, { n: 4 });
      assert.equal(await counter.count({ runId: id, step: 'a' }), 1);
      assert.equal(await counter.count({ runId: id, step: 'b' }), 1);
      const outputs = await s.container.runs.latestSucceededOutputs('quick', 'm1', 5);
      assert.equal(outputs[0]!.runId, id);
      assert.deepEqual(outputs[0]!.output, { twice: 8 });
      const page = await api().get('/api/v1/runs?dag=quick&model=m1&status=succeeded&limit=1').set(auth(reader)).expect(200);
      assert.equal(page.body.items[0].id, id);
    });

    it('records a trigger that finds maxActiveRuns runs active as skipped with the reason', async () => {
      const first = await trigger('gate', 'overlap');
      await until(first, ['running']);
      const second = await api().post('/api/v1/dags/gate/runs').set(auth(ds)).send({ model: 'overlap' }).expect(202);
      assert.equal(second.body.status, 'skipped');
      const skipped = await run(String(second.body.runId));
      assert.equal(skipped.status, 'skipped');
      assert.match(skipped.reason, /overlap: 1 run of gate for overlap already active \(maxActiveRuns 1\)/);
      gates.get(first)!();
      assert.equal((await until(first, ['succeeded'])).status, 'succeeded');
      assert.equal(await counter.count({ runId: String(second.body.runId) }), 0);
    });

    it('cancels a running step through its signal and ends the run as cancelled', async () => {
      const id = await trigger('gate', 'cancel-me');
      await until(id, ['running']);
      await waitFor('the step to wait at its gate', () => (gates.has(id) ? true : undefined));
      const asked = await api().post(`/api/v1/runs/${id}/cancel`).set(auth(ds)).expect(202);
      assert.equal(asked.body.cancelRequested, true);
      const r = await until(id, ['cancelled']);
      assert.equal(r.steps[0].status, 'cancelled');
      assert.match(aborted.get(id)!, /cancelled while step "hold" ran/);
      assert.equal(r.error.step, 'hold');
    });

    it('cancels at once a run that no replica is executing (waiting out a backoff)', async () => {
      const id = await trigger('backoff', 'm1');
      await waitFor('the step to wait for its retry', async () => ((await run(id)).steps[0].status === 'retrying' ? true : undefined));
      const r = await api().post(`/api/v1/runs/${id}/cancel`).set(auth(ds)).expect(202);
      assert.equal(r.body.status, 'cancelled');
      assert.equal(r.body.steps[0].status, 'cancelled');
      assert.equal(await counter.count({ runId: id, step: 'fail' }), 1);
    });

    it('fails a step past its timeout, aborting it through its signal, and names the step', async () => {
      const id = await trigger('slow', 'm1');
      const r = await until(id, ['failed', 'succeeded']);
      assert.equal(r.status, 'failed');
      assert.equal(r.error.step, 'crawl');
      assert.match(r.error.message, /step "crawl" failed after 1 attempt: step "crawl" timed out after 300 ms/);
      assert.equal(r.steps[0].history[0].outcome, 'timed_out');
      assert.match(aborted.get(id)!, /timed out/);
    });

    it('retries a failing step with exponential backoff, every attempt visible', async () => {
      const id = await trigger('flaky', 'm1');
      const r = await until(id, ['succeeded', 'failed']);
      assert.equal(r.status, 'succeeded');
      const step = r.steps[0];
      assert.equal(step.attempts, 3);
      assert.equal(await counter.count({ runId: id, step: 'try' }), 3);
      assert.deepEqual(step.history.map((h: { outcome: string }) => h.outcome), ['failed', 'failed', 'succeeded']);
      assert.match(step.history[0].error, /attempt 1 fails/);
      const gap = (i: number) => Date.parse(step.history[i].startedAt) - Date.parse(step.history[i - 1].finishedAt);
      // pg-boss waits backoff · 2^n · (1 + random) before retry n+1: at least 1 s, then at least 2 s.
      assert.ok(gap(1) >= 1000, `first backoff ${gap(1)} ms`);
      assert.ok(gap(2) >= 2000, `second backoff ${gap(2)} ms`);
      assert.deepEqual(r.output, { attempt: 3 });
      const metrics = (await api().get('/metrics').expect(200)).text;
      assert.match(metrics, /scheduler_step_retries_total\{dag="flaky",step="try",service="scheduler"\} 2/);
    });

    it('does not retry an UnrecoverableStepError', async () => {
      const id = await trigger('fatal', 'm1');
      const r = await until(id, ['failed']);
      assert.equal(r.steps[0].attempts, 1);
      assert.equal(await counter.count({ runId: id, step: 'load' }), 1);
      assert.match(r.error.message, /dataset "x" does not exist/);
    });

    it('ends a run that throws SkipRun as skipped with the reason, later steps not run', async () => {
      const id = await trigger('skipper', 'm1');
      const r = await until(id, ['skipped', 'failed']);
      assert.equal(r.status, 'skipped');
      assert.equal(r.reason, 'too few rows: 3 < 100');
      assert.deepEqual(r.steps.map((x: { status: string }) => x.status), ['skipped', 'skipped']);
      assert.equal(await counter.count({ runId: id, step: 'never' }), 0);
    });

    it('creates a run of another DAG once per calling step and request, with a stable idempotency key', async () => {
      const id = await trigger('parent', 'fan');
      const r = await until(id, ['succeeded', 'failed']);
      assert.equal(r.status, 'succeeded');
      const out = r.output as { first: { runId: string; created: boolean }; second: { runId: string; created: boolean }; key: string; again: string };
      assert.equal(out.first.created, true);
      assert.deepEqual(out.second, { runId: out.first.runId, created: false });
      assert.equal(out.key, out.again);
      assert.equal(out.key, `run-${id}-fan-out-register`);
      const child = await until(out.first.runId, ['succeeded']);
      assert.equal(child.trigger, 'drift');
      assert.equal(child.cause, 'test');
      assert.deepEqual(child.params, { n: 5, label: 'x' });
    });

    it('shows progress while the step runs, and gives steps a read-only database', async () => {
      const id = await trigger('reporter', 'm1');
      const shown = await waitFor('progress', async () => ((await run(id)).progress?.done === 40 ? await run(id) : undefined));
      assert.deepEqual(shown.progress, { done: 40, total: 100, unit: 'rows', step: 'work' });
      gates.get(id)!();
      const r = await until(id, ['succeeded', 'failed']);
      assert.equal(r.status, 'succeeded');
      assert.equal((r.output as { read: number }).read, 1);
      assert.match((r.output as { write: string }).write, /read-only transaction/);
      assert.equal(r.progress, undefined);
    });
  });

  describe('claims', () => {
    it('claims each occurrence once, also when a late tick arrives after a later occurrence was claimed', async () => {
      await api().put('/api/v1/schedules/quick/claims').set(auth(ds)).send({ cron: '*/10 * * * *' }).expect(201);
      const t = s.container.ticker;
      const base = Math.ceil(Date.now() / 600_000) * 600_000;
      const t1 = new Date(base + 600_000);
      const t2 = new Date(base + 1_200_000);
      await t.claim('quick', 'claims', '*/10 * * * *', t2);
      await t.claim('quick', 'claims', '*/10 * * * *', t1);
      await Promise.all([t.claim('quick', 'claims', '*/10 * * * *', t1), t.claim('quick', 'claims', '*/10 * * * *', t2)]);
      const runs = (await api().get('/api/v1/runs?dag=quick&model=claims').set(auth(reader)).expect(200)).body.items;
      assert.deepEqual(runs.map((r: { scheduledFor: string }) => r.scheduledFor).sort(), [t1.toISOString(), t2.toISOString()]);
      // A claim for a schedule changed elsewhere (another cron) is refused.
      await t.claim('quick', 'claims', '* * * * *', new Date(base + 1_800_000));
      assert.equal((await api().get('/api/v1/runs?dag=quick&model=claims').set(auth(reader)).expect(200)).body.items.length, 2);
      await api().delete('/api/v1/schedules/quick/claims').set(auth(ds)).expect(204);
    });
  });

  describe('occurrences missed while no replica was up', () => {
    const downFor = (dag: string, model: string) =>
      s.container.pool.query(`UPDATE scheduler.schedule SET covered_until = now() - interval '1 hour' WHERE dag = $1 AND model = $2`, [dag, model]);
    const runsOf = async (dag: string, model: string) => (await api().get(`/api/v1/runs?dag=${dag}&model=${model}`).set(auth(reader)).expect(200)).body.items;

    it('records them as one skipped run whose reason counts them (missedRuns: skip)', async () => {
      await api().put('/api/v1/schedules/quick/missed').set(auth(ds)).send({ cron: '*/10 * * * *' }).expect(201);
      await downFor('quick', 'missed');
      await s.container.ticker.sync();
      const runs = await runsOf('quick', 'missed');
      assert.equal(runs.length, 1);
      assert.equal(runs[0].status, 'skipped');
      assert.equal(runs[0].trigger, 'schedule');
      assert.match(runs[0].reason, /^missed: [56] occurrences from .+ to .+ passed with no scheduler replica up to claim them \(missedRuns: skip\)$/);
      assert.equal(new Date(runs[0].scheduledFor).getUTCMinutes() % 10, 0);
      await s.container.ticker.sync();
      assert.equal((await runsOf('quick', 'missed')).length, 1, 'recorded once');
    });

    it('runs the latest one once (missedRuns: once)', async () => {
      await api().put('/api/v1/schedules/catchup/missed').set(auth(ds)).send({}).expect(201);
      await downFor('catchup', 'missed');
      await s.container.ticker.sync();
      const runs = await runsOf('catchup', 'missed');
      assert.equal(runs.length, 1);
      assert.match(runs[0].cause, /^missed: [56] occurrences .*; the latest runs once \(missedRuns: once\)$/);
      const done = await until(runs[0].id, ['succeeded', 'failed']);
      assert.equal(done.status, 'succeeded');
      assert.equal(await counter.count({ runId: runs[0].id, step: 'only' }), 1);
    });

    it('owes nothing for the time a schedule was disabled', async () => {
      await api().put('/api/v1/schedules/quick/paused').set(auth(ds)).send({ cron: '*/10 * * * *', enabled: false }).expect(201);
      await downFor('quick', 'paused');
      await api().put('/api/v1/schedules/quick/paused').set(auth(ds)).send({ enabled: true }).expect(200);
      await s.container.ticker.sync();
      assert.deepEqual(await runsOf('quick', 'paused'), []);
    });
  });

  describe('dags and service endpoints', () => {
    it('lists the DAGs with their params as JSON Schema, and one with its last run', async () => {
      const list = await api().get('/api/v1/dags').set(auth(reader)).expect(200);
      const quick = list.body.items.find((d: { id: string }) => d.id === 'quick');
      assert.equal(quick.params.type, 'object');
      assert.equal(quick.params.properties.n.default, 1);
      assert.deepEqual(quick.steps[0], { name: 'a', retries: { max: 0, backoffMs: 0 }, timeoutMs: 1_800_000 });
      const one = await api().get('/api/v1/dags/quick').set(auth(reader)).expect(200);
      assert.equal(one.body.lastRun.dag, 'quick');
      assert.ok('nextRun' in one.body);
    });

    it('serves /healthz, /readyz, /openapi.json, /docs and the metrics', async () => {
      await api().get('/healthz').expect(200);
      await api().get('/readyz').expect(200);
      const doc = await api().get('/openapi.json').expect(200);
      assert.ok(doc.body.paths['/api/v1/schedules/{dag}/{model}'].put);
      await api().get('/docs').expect(200);
      const m = (await api().get('/metrics').expect(200)).text;
      for (const name of ['scheduler_dag_runs_total', 'scheduler_dag_run_duration_seconds', 'scheduler_dag_last_success_timestamp_seconds', 'scheduler_runs_active', 'scheduler_tick_lag_seconds']) {
        assert.match(m, new RegExp(`# TYPE ${name} `), name);
      }
      assert.match(m, /scheduler_dag_runs_total\{dag="quick",status="succeeded",service="scheduler"\} \d+/);
      assert.match(m, /scheduler_dag_last_success_timestamp_seconds\{dag="quick",model="m1",service="scheduler"\} \d+/);
    });
  });
});
