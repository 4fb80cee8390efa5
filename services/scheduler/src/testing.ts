import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DagDefinition } from '@contender/pipeline';
import { closeServer, createLogger, createPool, type Pool } from '@contender/platform';
import type { Express } from 'express';
import { createApp } from './app.js';
import { schedulerConfigSchema, type SchedulerConfig } from './config.js';
import { buildSchedulerContainer, type SchedulerContainer } from './container.js';

export interface TestSchedulerOptions {
  dags: ReadonlyArray<DagDefinition>;
  databaseUrl: string;
  registryUrl: string;
  /** the scheduler's own registry key */
  apiKey: string;
  /** extra environment for the config (RUN_LEASE_MS…) */
  env?: Record<string, string>;
  /** start the workers, the sweep and the ticks (default true) */
  start?: boolean;
}

export interface TestScheduler {
  url: string;
  app: Express;
  container: SchedulerContainer;
  config: SchedulerConfig;
  close(): Promise<void>;
}

/** Short leases and heartbeats, so takeovers and cancels show within a test's patience. */
export const FAST_SCHEDULER_ENV = {
  RUN_LEASE_MS: '2000',
  RUN_HEARTBEAT_MS: '200',
  SCHEDULE_SYNC_MS: '500',
  MISSED_GRACE_MS: '3000',
  PROGRESS_WRITE_MS: '100',
  AUTH_CACHE_TTL_MS: '0',
};

/** The scheduler in-process on an ephemeral loopback port, with the DAGs given. */
export async function startTestScheduler(opts: TestSchedulerOptions): Promise<TestScheduler> {
  const config = schedulerConfigSchema.parse({
    DATABASE_URL: opts.databaseUrl,
    REGISTRY_URL: opts.registryUrl,
    REGISTRY_API_KEY: opts.apiKey,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...FAST_SCHEDULER_ENV,
    ...opts.env,
  });
  const container = await buildSchedulerContainer(config, { dags: opts.dags, logger: createLogger('scheduler', config.LOG_LEVEL) });
  if (opts.start ?? true) await container.start();
  const app = createApp(container);
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    app,
    container,
    config,
    async close() {
      await closeServer(server).catch(() => {});
      await container.close();
    },
  };
}

/** Polls `fn` until it returns a value that is not undefined, or rejects past the deadline. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * A table that test DAGs' steps count their executions in: `count(step)` says how often a step's
 * code ran, whatever the runner recorded.
 */
export class ExecutionCounter {
  private constructor(readonly pool: Pool, readonly table: string) {}

  static async open(databaseUrl: string, table = 'scheduler_test_execution'): Promise<ExecutionCounter> {
    const pool = createPool(databaseUrl, { max: 3, applicationName: 'scheduler-test-counter' });
    await pool.query(`CREATE TABLE IF NOT EXISTS public.${table} (id bigserial PRIMARY KEY, run_id text NOT NULL, step text NOT NULL, pid int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`);
    return new ExecutionCounter(pool, table);
  }

  async record(runId: string, step: string): Promise<void> {
    await this.pool.query(`INSERT INTO public.${this.table} (run_id, step, pid) VALUES ($1, $2, $3)`, [runId, step, process.pid]);
  }

  async count(filter: { runId?: string; step?: string } = {}): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM public.${this.table} WHERE ($1::text IS NULL OR run_id = $1) AND ($2::text IS NULL OR step = $2)`,
      [filter.runId ?? null, filter.step ?? null],
    );
    return rows[0]!.n;
  }

  async byRunAndStep(): Promise<Array<{ runId: string; step: string; n: number }>> {
    const { rows } = await this.pool.query<{ run_id: string; step: string; n: number }>(
      `SELECT run_id, step, count(*)::int AS n FROM public.${this.table} GROUP BY run_id, step ORDER BY run_id, step`,
    );
    return rows.map((r) => ({ runId: r.run_id, step: r.step, n: r.n }));
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
