// The `contender` CLI's scheduler commands (runs, schedules, dags, reports), run as a child
// process against this scheduler in-process (the SDK cannot depend on the scheduler, which uses it).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { defineDag } from '@contender/pipeline';
import { createTestDatabase, type TestDatabase } from '@contender/platform/testing';
import { startTestRegistry, type TestRegistry } from '@contender/registry/testing';
import { startTestScheduler, type TestScheduler } from '../testing.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../packages/sdk/bin/contender.js');

let release: (() => void) | undefined;
const dags = [
  defineDag({
    id: 'quick',
    description: 'doubles n',
    cron: '0 3 * * *',
    params: z.object({ n: z.number().int().min(1).default(1) }),
    steps: [
      { name: 'a', run: async (ctx) => ({ n: ctx.params.n }) },
      { name: 'b', run: async (ctx) => ({ twice: (ctx.outputs.a as { n: number }).n * 2 }) },
    ],
  }),
  defineDag({
    id: 'hold',
    description: 'waits until cancelled',
    cron: '0 3 * * *',
    params: z.object({}),
    steps: [{ name: 'wait', run: (ctx) => new Promise((_resolve, reject) => { release = () => reject(new Error('released')); ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)); }) }],
  }),
];

describe('the contender CLI against the real scheduler', { timeout: 300_000 }, () => {
  let registry: TestRegistry;
  let scheduler: TestScheduler;
  let db: TestDatabase;
  let env: NodeJS.ProcessEnv;
  const cli = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile(process.execPath, [BIN, ...args], { env }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });
  async function json<T = Record<string, unknown>>(args: string[]): Promise<T> {
    const r = await cli([...args, '--json']);
    assert.equal(r.code, 0, `contender ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  before(async () => {
    registry = await startTestRegistry();
    db = await createTestDatabase('scheduler-cli');
    scheduler = await startTestScheduler({ dags, databaseUrl: db.url, registryUrl: registry.url, apiKey: await registry.createKey('data-scientist') });
    env = { PATH: process.env.PATH, HOME: '/nonexistent', CONTENDER_CONFIG: '/nonexistent/profile.json', CONTENDER_REGISTRY_URL: registry.url, CONTENDER_SCHEDULER_URL: scheduler.url, CONTENDER_API_KEY: await registry.createKey('data-scientist') };
  });
  after(async () => {
    release?.();
    await scheduler?.close();
    await registry?.close();
    await db?.drop();
  });

  it('dags list and show, schedules set, list and delete', async () => {
    assert.deepEqual((await json<{ items: { id: string }[] }>(['dags', 'list'])).items.map((d) => d.id).sort(), ['hold', 'quick']);
    assert.equal((await json<{ id: string }>(['dags', 'show', 'quick'])).id, 'quick');
    const s = await json<{ cron: string; params: unknown; enabled: boolean }>(['schedules', 'set', 'quick', 'credit', '--cron', '0 4 * * *', '--param', 'n=2', '--disable']);
    assert.deepEqual([s.cron, s.params, s.enabled], ['0 4 * * *', { n: 2 }, false]);
    assert.equal((await json<{ items: unknown[] }>(['schedules', 'list', '--model', 'credit'])).items.length, 1);
    await json(['schedules', 'delete', 'quick', 'credit']);
    assert.equal((await json<{ items: unknown[] }>(['schedules', 'list', '--model', 'credit'])).items.length, 0);
    const bad = await cli(['schedules', 'set', 'quick', 'credit', '--param', 'n=0']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /400 \w+: .*params\.n.* \(request \S+\)/);
  });

  it('runs trigger with params, watch until it succeeds, show and list; cancel ends a running run', async () => {
    const t = await json<{ runId: string; status: string }>(['runs', 'trigger', 'quick', 'credit', '--param', 'n=3']);
    assert.equal(t.status, 'queued');
    const watched = await cli(['runs', 'watch', t.runId, '--interval', '100']);
    assert.equal(watched.code, 0, watched.stderr);
    assert.match(watched.stderr, /STEP\s+STATUS/);
    const run = await json<{ status: string; steps: { name: string; output: unknown }[] }>(['runs', 'show', t.runId]);
    assert.equal(run.status, 'succeeded');
    assert.deepEqual(run.steps.map((s) => s.output), [{ n: 3 }, { twice: 6 }]);
    assert.ok((await json<{ items: { id: string }[] }>(['runs', 'list', '--dag', 'quick'])).items.some((r) => r.id === t.runId));
    const held = await json<{ runId: string }>(['runs', 'trigger', 'hold', 'credit']);
    await json(['runs', 'cancel', held.runId]);
    const ended = await cli(['runs', 'watch', held.runId, '--interval', '100', '--json']);
    assert.equal(ended.code, 1, 'a cancelled run is not a success');
    assert.equal((JSON.parse(ended.stdout) as { status: string }).status, 'cancelled');
  });

  it('drift and experiment say 404 report_not_found before the first report', async () => {
    for (const c of ['drift', 'experiment']) {
      const r = await cli([c, 'credit']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /404 report_not_found: .* \(request \S+\)/);
    }
  });
});
