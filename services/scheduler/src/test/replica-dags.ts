/**
 * DAGs for the tests that run the scheduler as child processes (SCHEDULER_DAGS_MODULE points
 * here). Their steps count every execution in a table of the same database, so a test sees how
 * often a step's code really ran, on which process.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { onnxFixture } from '@contender/fixtures';
import { z } from 'zod';
import { defineDag } from '@contender/pipeline';
import { createPool } from '@contender/platform';

const pool = createPool(process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/contender', { max: 2, applicationName: 'scheduler-test-dags' });
export const COUNTER_TABLE = 'scheduler_test_execution';
/** sklearn-onnx's binary classifier: 20 float features. */
export const REGISTER_FEATURES = Array.from({ length: 20 }, (_, i) => `x${i}`);
export const RELEASE_TABLE = 'scheduler_test_release';

async function count(runId: string, step: string): Promise<void> {
  await pool.query(`INSERT INTO public.${COUNTER_TABLE} (run_id, step, pid) VALUES ($1, $2, $3)`, [runId, step, process.pid]);
}

/** Waits until the test inserts the run's id into the release table, or the signal aborts. */
async function released(runId: string, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const { rowCount } = await pool.query(`SELECT 1 FROM public.${RELEASE_TABLE} WHERE run_id = $1`, [runId]);
    if (rowCount) return;
    await sleep(50, undefined, { signal }).catch(() => {});
  }
  throw signal.reason;
}

export const dags = [
  defineDag({
    id: 'tick',
    description: 'two counted steps, every two seconds',
    cron: '*/2 * * * * *',
    params: z.object({}),
    steps: [
      { name: 'one', run: async (ctx) => count(ctx.runId, 'one') },
      { name: 'two', run: async (ctx) => count(ctx.runId, 'two') },
    ],
  }),
  defineDag({
    id: 'hold',
    description: 'a middle step that waits for the test to release it',
    cron: '0 3 * * *',
    params: z.object({}),
    steps: [
      { name: 'before', run: async (ctx) => { await count(ctx.runId, 'before'); return { from: process.pid }; } },
      {
        name: 'interrupted',
        run: async (ctx) => {
          await count(ctx.runId, 'interrupted');
          await released(ctx.runId, ctx.signal);
          return { before: ctx.outputs.before };
        },
      },
      { name: 'after', run: async (ctx) => count(ctx.runId, 'after') },
    ],
  }),
  defineDag({
    id: 'register',
    description: 'registers one model version with the step\'s idempotency key, then waits for the test',
    cron: '0 3 * * *',
    params: z.object({}),
    steps: [
      {
        name: 'upload',
        run: async (ctx) => {
          const v = await ctx.registry.uploadVersion(
            ctx.model,
            { artifact: readFileSync(onnxFixture('sklearn-onnx__tests_datasets_treecl2.onnx')), metadata: { featureNames: REGISTER_FEATURES } },
            { idempotencyKey: ctx.idempotencyKey('register') },
          );
          // Counted once the registry has the version: a kill from here on is the worst case.
          await count(ctx.runId, 'upload');
          await released(ctx.runId, ctx.signal);
          return { version: v.version };
        },
      },
      { name: 'after', run: async (ctx) => { await count(ctx.runId, 'after'); return ctx.outputs.upload; } },
    ],
  }),
];
