/**
 * DAGs for the tests that run the scheduler as child processes (SCHEDULER_DAGS_MODULE points
 * here). Their steps count every execution in a table of the same database, so a test sees how
 * often a step's code really ran, on which process.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defineDag } from '@contender/pipeline';
import { createPool } from '@contender/platform';

const pool = createPool(process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/contender', { max: 2, applicationName: 'scheduler-test-dags' });
export const COUNTER_TABLE = 'scheduler_test_execution';
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
];
