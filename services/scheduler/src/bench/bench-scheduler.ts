/**
 * From an occurrence's scheduled time to the moment its run's first step starts, with two
 * scheduler replicas (in-process containers, each with its own ticks, pg-boss workers and pool)
 * on one fresh database. Every schedule fires each second; the first step records when it began.
 *
 *   npm run bench:scheduler                   (BENCH_SECONDS=40 BENCH_MODELS=5 by default)
 */
import os from 'node:os';
import { z } from 'zod';
import { defineDag } from '@contender/pipeline';
import { createLogger } from '@contender/platform';
import { createTestDatabase } from '@contender/platform/testing';
import { schedulerConfigSchema } from '../config.js';
import { buildSchedulerContainer, type SchedulerContainer } from '../container.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 40);
const models = Number(process.env.BENCH_MODELS ?? 5);
const lags: number[] = [];

const dag = defineDag({
  id: 'bench',
  description: 'records when its first step starts',
  cron: '* * * * * *',
  params: z.object({}),
  steps: [
    {
      name: 'first',
      run: async (ctx) => {
        lags.push(Date.now() - ctx.scheduledFor.getTime());
        return null;
      },
    },
    { name: 'second', run: async () => null },
  ],
});

function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

async function main(): Promise<void> {
  const database = await createTestDatabase('scheduler_bench');
  const logger = createLogger('scheduler', 'warn');
  const config = schedulerConfigSchema.parse({
    DATABASE_URL: database.url,
    REGISTRY_API_KEY: 'unused-by-this-benchmark',
    LOG_LEVEL: 'warn',
  });
  const replicas: SchedulerContainer[] = [];
  try {
    for (const owner of ['bench-a', 'bench-b']) {
      const c = await buildSchedulerContainer(config, { dags: [dag], logger, owner });
      await c.start();
      replicas.push(c);
    }
    for (let m = 0; m < models; m++) await replicas[m % 2]!.schedules.put('bench', `model-${m}`, { cron: '* * * * * *' }, 'bench');
    // Let both replicas pick the schedules up before counting (SCHEDULE_SYNC_MS).
    await new Promise((r) => setTimeout(r, config.SCHEDULE_SYNC_MS + 1_000));
    lags.length = 0;
    await new Promise((r) => setTimeout(r, seconds * 1000));
    for (const c of replicas) for (let m = 0; m < models; m++) await c.schedules.put('bench', `model-${m}`, { enabled: false }, 'bench').catch(() => {});
    const { rows } = await replicas[0]!.pool.query<{ n: number; dup: number }>(
      `SELECT count(*)::int AS n, (count(*) - count(DISTINCT (model, scheduled_for)))::int AS dup FROM scheduler.run WHERE dag = 'bench'`,
    );
    // The two parts: node-cron's tick and the claim (created_at), then dispatch to the step's start.
    const parts = await replicas[0]!.pool.query<{ claim50: number; claim99: number; start50: number; start99: number; skipped: number }>(
      `SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM created_at - scheduled_for) * 1000)::int AS claim50,
              percentile_disc(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM created_at - scheduled_for) * 1000)::int AS claim99,
              percentile_disc(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - created_at) * 1000)::int AS start50,
              percentile_disc(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - created_at) * 1000)::int AS start99,
              count(*) FILTER (WHERE status = 'skipped')::int AS skipped
       FROM scheduler.run WHERE dag = 'bench'`,
    );
    const sorted = [...lags].sort((a, b) => a - b);
    const row = rows[0]!;
    console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, node ${process.version}; 2 replicas, ${models} schedules firing each second for ${seconds} s`);
    console.log(`runs: ${row.n} (duplicates: ${row.dup}); first steps timed: ${sorted.length}`);
    console.log('| occurrence → first step | ms |');
    console.log('|---|---|');
    console.log(`| median | ${quantile(sorted, 0.5)} |`);
    console.log(`| p99 | ${quantile(sorted, 0.99)} |`);
    console.log(`| max | ${sorted[sorted.length - 1]} |`);
    const p = parts.rows[0]!;
    console.log(`occurrence → claimed: median ${p.claim50} ms, p99 ${p.claim99} ms; claimed → first step: median ${p.start50} ms, p99 ${p.start99} ms; skipped (overlap): ${p.skipped}`);
  } finally {
    for (const c of replicas) await c.close();
    await database.drop().catch(() => {});
  }
}

await main();
