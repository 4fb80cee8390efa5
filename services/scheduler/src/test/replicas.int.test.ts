import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPool, type Pool } from '@contender/platform';
import { createTestDatabase, freePort, type TestDatabase } from '@contender/platform/testing';
import { startTestRegistry, type TestRegistry } from '@contender/registry/testing';
import { ExecutionCounter, FAST_SCHEDULER_ENV, waitFor } from '../testing.js';
import { COUNTER_TABLE, RELEASE_TABLE } from './replica-dags.js';

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));
const DAGS_MODULE = fileURLToPath(new URL('./replica-dags.js', import.meta.url));

interface Replica {
  name: string;
  proc: ChildProcess;
  url: string;
  exited: Promise<void>;
  output: string[];
}

describe('two scheduler processes on one database', () => {
  let registry: TestRegistry;
  let database: TestDatabase;
  let pool: Pool;
  let counter: ExecutionCounter;
  let key: string;
  let ds: string;
  const replicas: Replica[] = [];

  async function startReplica(name: string, env: Record<string, string> = {}): Promise<Replica> {
    const port = await freePort();
    const output: string[] = [];
    const proc = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: database.url,
        REGISTRY_URL: registry.url,
        REGISTRY_API_KEY: key,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        SCHEDULER_DAGS_MODULE: DAGS_MODULE,
        SHUTDOWN_TIMEOUT_MS: '4000',
        ...FAST_SCHEDULER_ENV,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.on('data', (b: Buffer) => output.push(b.toString()));
    proc.stderr!.on('data', (b: Buffer) => output.push(b.toString()));
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    const url = `http://127.0.0.1:${port}`;
    const r: Replica = { name, proc, url, exited, output };
    replicas.push(r);
    await waitFor(`${name} to be ready`, async () => {
      if (proc.exitCode !== null) throw new Error(`${name} exited: ${output.join('')}`);
      const res = await fetch(`${url}/readyz`).catch(() => null);
      return res?.ok ? true : undefined;
    }, 30_000, 100);
    return r;
  }

  const call = async (r: Replica, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${r.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${ds}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  const alive = () => replicas.filter((r) => r.proc.exitCode === null && r.proc.signalCode === null);

  before(async () => {
    registry = await startTestRegistry();
    database = await createTestDatabase('scheduler_replicas');
    counter = await ExecutionCounter.open(database.url, COUNTER_TABLE);
    pool = createPool(database.url, { max: 2 });
    await pool.query(`CREATE TABLE IF NOT EXISTS public.${RELEASE_TABLE} (run_id text PRIMARY KEY)`);
    key = await registry.createKey('data-scientist', 'scheduler');
    ds = await registry.createKey('data-scientist');
    // The first replica migrates; the second starts against the migrated schema.
    await startReplica('a');
    await startReplica('b');
  });

  after(async () => {
    for (const r of replicas) if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGKILL');
    await Promise.all(replicas.map((r) => r.exited));
    await counter?.close();
    await pool?.end();
    await database?.drop();
    await registry?.close();
  });

  it('turns each occurrence of a schedule into exactly one run, each step executed once', async () => {
    const [a, b] = replicas as [Replica, Replica];
    await call(a, 'PUT', '/schedules/tick/m1', { cron: '*/2 * * * * *' });
    const runs = await waitFor('three succeeded runs', async () => {
      const { rows } = await pool.query<{ id: number; scheduled_for: Date; status: string }>(
        `SELECT id, scheduled_for, status FROM scheduler.run WHERE dag = 'tick' ORDER BY scheduled_for`,
      );
      return rows.filter((r) => r.status === 'succeeded').length >= 3 ? rows : undefined;
    }, 60_000, 200);
    await call(b, 'PUT', '/schedules/tick/m1', { enabled: false });
    const first3 = runs.slice(0, 3);
    // Never zero: consecutive occurrences two seconds apart, none missing; never two: one run each.
    for (let i = 1; i < 3; i++) assert.equal(first3[i]!.scheduled_for.getTime() - first3[i - 1]!.scheduled_for.getTime(), 2000);
    const { rows: perOccurrence } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM scheduler.run WHERE dag = 'tick' GROUP BY scheduled_for HAVING count(*) > 1`,
    );
    assert.deepEqual(perOccurrence, []);
    for (const r of first3) {
      assert.equal(r.status, 'succeeded');
      assert.equal(await counter.count({ runId: String(r.id), step: 'one' }), 1, `run ${r.id} step one`);
      assert.equal(await counter.count({ runId: String(r.id), step: 'two' }), 1, `run ${r.id} step two`);
    }
    const logs = replicas.map((r) => r.output.join(''));
    assert.ok(logs.every((l) => l.includes('scheduler listening')));
  });

  it('cancels through one replica a step running on the other', async () => {
    const [a] = alive() as [Replica];
    const { runId } = await call(a, 'POST', '/dags/hold/runs', { model: 'cancel' });
    const pid = await waitFor('the middle step to start', async () => {
      const { rows } = await pool.query<{ pid: number }>(`SELECT pid FROM public.${COUNTER_TABLE} WHERE run_id = $1 AND step = 'interrupted'`, [String(runId)]);
      return rows[0]?.pid;
    });
    const other = alive().find((r) => r.proc.pid !== pid)!;
    const asked = await call(other, 'POST', `/runs/${runId}/cancel`);
    assert.equal(asked.cancelRequested, true);
    const run = await waitFor('the run to be cancelled', async () => {
      const r = await call(other, 'GET', `/runs/${runId}`);
      return r.status === 'cancelled' ? r : undefined;
    });
    assert.equal(run.steps[1].status, 'cancelled');
    assert.equal(run.steps[2].status, 'cancelled');
    assert.equal(await counter.count({ runId: String(runId), step: 'after' }), 0);
  });

  it('takes over a run whose process was killed mid-step and resumes it at that step', async () => {
    const [a] = alive() as [Replica];
    const { runId } = await call(a, 'POST', '/dags/hold/runs', { model: 'm1' });
    const victimPid = await waitFor('the middle step to start', async () => {
      const { rows } = await pool.query<{ pid: number }>(`SELECT pid FROM public.${COUNTER_TABLE} WHERE run_id = $1 AND step = 'interrupted'`, [String(runId)]);
      return rows[0]?.pid;
    });
    const victim = replicas.find((r) => r.proc.pid === victimPid)!;
    victim.proc.kill('SIGKILL');
    await victim.exited;
    const survivor = alive()[0]!;
    await waitFor('the middle step to run again on the survivor', async () => ((await counter.count({ runId: String(runId), step: 'interrupted' })) === 2 ? true : undefined), 30_000, 100);
    await pool.query(`INSERT INTO public.${RELEASE_TABLE} (run_id) VALUES ($1)`, [String(runId)]);
    const run = await waitFor('the run to finish', async () => {
      const r = await call(survivor, 'GET', `/runs/${runId}`);
      return ['succeeded', 'failed'].includes(r.status) ? r : undefined;
    });
    assert.equal(run.status, 'succeeded');
    assert.equal(run.attempt, 2);
    assert.equal(await counter.count({ runId: String(runId), step: 'before' }), 1);
    assert.equal(await counter.count({ runId: String(runId), step: 'interrupted' }), 2);
    assert.equal(await counter.count({ runId: String(runId), step: 'after' }), 1);
    const middle = run.steps[1];
    assert.deepEqual(middle.history.map((h: { outcome: string }) => h.outcome), ['interrupted', 'succeeded']);
    // The stored output of the step finished before the kill was given to the step that resumed.
    assert.deepEqual(middle.output, { before: run.steps[0].output });
    // The killed replica, restarted, joins again.
    await startReplica(`${victim.name}-restarted`);
  });

  it('on SIGTERM hands a running step back at once, and another replica resumes it', async () => {
    if (alive().length < 2) await startReplica(`extra-${replicas.length}`);
    const [a] = alive() as [Replica];
    const { runId } = await call(a, 'POST', '/dags/hold/runs', { model: 'm2' });
    const pid = await waitFor('the middle step to start', async () => {
      const { rows } = await pool.query<{ pid: number }>(`SELECT pid FROM public.${COUNTER_TABLE} WHERE run_id = $1 AND step = 'interrupted'`, [String(runId)]);
      return rows[0]?.pid;
    });
    const leaving = replicas.find((r) => r.proc.pid === pid)!;
    leaving.proc.kill('SIGTERM');
    await leaving.exited;
    assert.equal(leaving.proc.exitCode, 0, leaving.output.join(''));
    const { rows } = await pool.query<{ lease_owner: string | null; attempt: number }>('SELECT lease_owner, attempt FROM scheduler.run WHERE id = $1', [runId]);
    assert.ok(!rows[0]!.lease_owner || !rows[0]!.lease_owner.includes(`:${pid}:`), 'the leaving replica released the lease');
    await waitFor('another replica to resume the step', async () => ((await counter.count({ runId: String(runId), step: 'interrupted' })) === 2 ? true : undefined), 30_000, 100);
    await pool.query(`INSERT INTO public.${RELEASE_TABLE} (run_id) VALUES ($1)`, [String(runId)]);
    const survivor = alive()[0]!;
    const run = await waitFor('the run to finish', async () => {
      const r = await call(survivor, 'GET', `/runs/${runId}`);
      return ['succeeded', 'failed'].includes(r.status) ? r : undefined;
    });
    assert.equal(run.status, 'succeeded');
    assert.equal(await counter.count({ runId: String(runId), step: 'before' }), 1);
    assert.equal(await counter.count({ runId: String(runId), step: 'after' }), 1);
    assert.deepEqual(run.steps[1].history.map((h: { outcome: string }) => h.outcome), ['interrupted', 'succeeded']);
  });

  it('after a SIGKILL in a step that registered a version, the resumed step registers no second one', async () => {
    if (alive().length < 2) await startReplica(`extra-${replicas.length}`);
    const admin = { authorization: `Bearer ${registry.adminKey}`, 'content-type': 'application/json' };
    const created = await fetch(`${registry.url}/api/v1/models`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'killed', task: 'binary_classification' }) });
    assert.equal(created.status, 201);
    const [a] = alive() as [Replica];
    const { runId } = await call(a, 'POST', '/dags/register/runs', { model: 'killed' });
    const victimPid = await waitFor('the version to be registered', async () => {
      const { rows } = await pool.query<{ pid: number }>(`SELECT pid FROM public.${COUNTER_TABLE} WHERE run_id = $1 AND step = 'upload'`, [String(runId)]);
      return rows[0]?.pid;
    });
    const victim = replicas.find((r) => r.proc.pid === victimPid)!;
    victim.proc.kill('SIGKILL');
    await victim.exited;
    await waitFor('the step to run again after the takeover', async () => ((await counter.count({ runId: String(runId), step: 'upload' })) === 2 ? true : undefined), 60_000, 100);
    await pool.query(`INSERT INTO public.${RELEASE_TABLE} (run_id) VALUES ($1)`, [String(runId)]);
    const survivor = alive()[0]!;
    const run = await waitFor('the run to finish', async () => {
      const r = await call(survivor, 'GET', `/runs/${runId}`);
      return ['succeeded', 'failed'].includes(r.status) ? r : undefined;
    });
    assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    const versions = (await (await fetch(`${registry.url}/api/v1/models/killed/versions`, { headers: admin })).json()) as { items: Array<{ version: number }> };
    assert.deepEqual(versions.items.map((v) => v.version), [1], 'exactly one version in the registry');
    assert.deepEqual(run.steps[0].output, { version: 1 }, 'the resumed step got the first answer back');
    assert.equal(await counter.count({ runId: String(runId), step: 'after' }), 1);
  });
});
