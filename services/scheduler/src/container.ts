import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import PgBoss from 'pg-boss';
import type { Registry } from 'prom-client';
import { IntrospectResponse } from '@contender/contracts';
import type { DagDefinition, ReadOnlyDb } from '@contender/pipeline';
import {
  createLogger,
  createMetricsRegistry,
  createPool,
  ensureDatabase,
  runMigrations,
  withDefaultUser,
  type Logger,
  type Pool,
  type ReadinessReport,
} from '@contender/platform';
import { RegistryClient, ServingClient } from '@contender/sdk';
import { IntrospectionAuth } from '@contender/serving/auth';
import type { SchedulerConfig } from './config.js';
import { DagCatalog, DEFAULT_STEP_TIMEOUT_MS, stepPolicy } from './features/dags/dag-catalog.js';
import { PgRunStore } from './features/runs/pg-run-store.js';
import { RunService } from './features/runs/run-service.js';
import { PgScheduleStore } from './features/schedules/pg-schedule-store.js';
import { ScheduleService } from './features/schedules/schedule-service.js';
import { Runner } from './runner/runner.js';
import { schedulerLookup } from './runner/scheduler-lookup.js';
import { ScheduleTicker } from './runner/schedule-ticker.js';
import { STEP_QUEUE, StepDispatcher } from './runner/step-dispatcher.js';
import { createSchedulerMetrics, type SchedulerMetrics } from './scheduler-metrics.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));
/** pg-boss's own tables: the scheduler's, like scheduler.* */
export const BOSS_SCHEMA = 'scheduler_boss';

export interface SchedulerContainer {
  config: SchedulerConfig;
  logger: Logger;
  /** this replica's name in run leases */
  owner: string;
  metricsRegistry: Registry;
  metrics: SchedulerMetrics;
  pool: Pool;
  /** read-only sessions on the same database: ctx.db of the steps */
  readOnlyPool: Pool;
  boss: PgBoss;
  catalog: DagCatalog;
  schedules: ScheduleService;
  runs: RunService;
  runStore: PgRunStore;
  runner: Runner;
  ticker: ScheduleTicker;
  auth: IntrospectionAuth;
  registry: RegistryClient;
  serving: ServingClient;
  /** starts the workers, the takeover sweep and the ticks */
  start(): Promise<void>;
  readiness(): Promise<ReadinessReport>;
  isShuttingDown(): boolean;
  beginShutdown(): void;
  /** SIGTERM: stop claiming, let running steps finish for up to `graceMs`, hand the rest back */
  stop(graceMs: number): Promise<void>;
  close(): Promise<void>;
}

/** Creates the database if missing and applies the scheduler's migrations (pg-boss migrates its own schema at start). */
export async function migrateScheduler(databaseUrl: string, logger?: Logger): Promise<void> {
  await ensureDatabase(databaseUrl);
  const pool = createPool(databaseUrl, { max: 1, applicationName: 'contender-scheduler-migrate' });
  try {
    await runMigrations(pool, { schema: 'scheduler', dir: MIGRATIONS_DIR, ...(logger ? { logger } : {}) });
  } finally {
    await pool.end();
  }
}

/** The URL of sessions that can only read: what ctx.db queries the published serving tables with. */
export function readOnlyUrl(databaseUrl: string): string {
  const url = new URL(withDefaultUser(databaseUrl));
  url.searchParams.set('options', '-c default_transaction_read_only=on');
  return url.toString();
}

/** The composition root: builds every dependency once. The DAGs are a parameter, so tests pass their own. */
export async function buildSchedulerContainer(
  config: SchedulerConfig,
  opts: { dags: ReadonlyArray<DagDefinition>; logger?: Logger; owner?: string },
): Promise<SchedulerContainer> {
  const logger = opts.logger ?? createLogger('scheduler', config.LOG_LEVEL);
  const catalog = new DagCatalog(opts.dags);
  await migrateScheduler(config.DATABASE_URL, logger);
  const pool = createPool(config.DATABASE_URL, { max: config.DATABASE_POOL_MAX, applicationName: 'contender-scheduler' });
  const readOnlyPool = createPool(readOnlyUrl(config.DATABASE_URL), { max: 4, applicationName: 'contender-scheduler-steps' });
  const boss = new PgBoss({
    connectionString: withDefaultUser(config.DATABASE_URL),
    schema: BOSS_SCHEMA,
    max: Math.max(2, Math.min(config.RUN_CONCURRENCY + 2, 10)),
    application_name: 'contender-scheduler-boss',
  });
  boss.on('error', (err: unknown) => logger.warn({ err }, 'pg-boss reported an error'));
  const owner = opts.owner ?? `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const registry = new RegistryClient({ baseUrl: config.REGISTRY_URL, apiKey: config.REGISTRY_API_KEY, timeoutMs: config.REGISTRY_TIMEOUT_MS });
  const serving = new ServingClient({ baseUrl: config.SERVING_URL, apiKey: config.REGISTRY_API_KEY, timeoutMs: config.REGISTRY_TIMEOUT_MS });
  const auth = new IntrospectionAuth({
    introspect: async (key) => IntrospectResponse.parse(await registry.http.request('POST', '/api/v1/auth/introspect', { json: { key } })),
    logger,
    ttlMs: config.AUTH_CACHE_TTL_MS,
  });
  const metricsRegistry = createMetricsRegistry('scheduler');
  const runStore = new PgRunStore();
  // The metrics read the runner, which is built after them (it counts into them).
  const built: { runner?: Runner } = {};
  const metrics = createSchedulerMetrics(metricsRegistry, {
    runningSteps: () => built.runner?.runningSteps ?? 0,
    lastSuccess: () => runStore.lastSuccessByDagModel(pool),
    stepsOverdue: async () =>
      (await runStore.runningStepAges(pool)).map((r) => {
        const step = catalog.find(r.dag)?.steps.find((s) => s.name === r.step);
        const timeoutMs = step ? stepPolicy(step).timeoutMs : DEFAULT_STEP_TIMEOUT_MS;
        return { dag: r.dag, step: r.step, overdueSeconds: r.ageSeconds - timeoutMs / 1000 };
      }),
    latestReports: (dag) => runStore.latestSucceededOutputPerModel(pool, dag),
  });
  const dispatcher = new StepDispatcher(boss);
  const runs = new RunService({ pool, store: runStore, catalog, dispatcher, metrics, logger, leaseMs: config.RUN_LEASE_MS });
  const readOnlyDb: ReadOnlyDb = {
    query: async (sql, params) => {
      const r = await readOnlyPool.query(sql, params);
      return { rows: r.rows };
    },
  };
  const scheduleStore = new PgScheduleStore();
  const runner = new Runner({
    pool,
    readOnlyDb,
    lookup: schedulerLookup({ pool, runs: runStore, schedules: scheduleStore }),
    boss,
    store: runStore,
    catalog,
    dispatcher,
    runs,
    metrics,
    logger,
    registry,
    serving,
    owner,
    config: {
      leaseMs: config.RUN_LEASE_MS,
      heartbeatMs: config.RUN_HEARTBEAT_MS,
      concurrency: config.RUN_CONCURRENCY,
      progressWriteMs: config.PROGRESS_WRITE_MS,
      ...(config.SCHEDULER_TMP_DIR ? { tmpDir: config.SCHEDULER_TMP_DIR } : {}),
    },
  });
  built.runner = runner;
  const theRunner = runner;
  const ticker = new ScheduleTicker({
    pool,
    schedules: scheduleStore,
    runs,
    catalog,
    metrics,
    logger,
    onRunCreated: () => theRunner.wake(),
    syncMs: config.SCHEDULE_SYNC_MS,
    missedGraceMs: config.MISSED_GRACE_MS,
  });
  const schedules = new ScheduleService({
    pool,
    store: scheduleStore,
    catalog,
    changed: () => void ticker.sync().catch((err: unknown) => logger.warn({ err }, 'schedule sync failed')),
  });

  let started = false;
  let shuttingDown = false;
  let closed: Promise<void> | undefined;
  return {
    config,
    logger,
    owner,
    metricsRegistry,
    metrics,
    pool,
    readOnlyPool,
    boss,
    catalog,
    schedules,
    runs,
    runStore,
    runner: theRunner,
    ticker,
    auth,
    registry,
    serving,
    async start() {
      if (started) return;
      started = true;
      await boss.start();
      await boss.createQueue(STEP_QUEUE).catch((err: { message?: string }) => {
        if (!/exists/i.test(err.message ?? '')) throw err;
      });
      await theRunner.start();
      await ticker.start();
    },
    async readiness() {
      const [db] = await Promise.allSettled([pool.query('SELECT 1')]);
      const checks = { postgres: db.status === 'fulfilled' ? { ok: true } : { ok: false, detail: (db.reason as Error).message } };
      return { ready: checks.postgres.ok, checks };
    },
    isShuttingDown: () => shuttingDown,
    beginShutdown() {
      shuttingDown = true;
    },
    async stop(graceMs) {
      shuttingDown = true;
      ticker.stop();
      await theRunner.stop(graceMs);
    },
    close() {
      closed ??= (async () => {
        shuttingDown = true;
        ticker.stop();
        await theRunner.stop(0).catch((err: unknown) => logger.error({ err }, 'stopping the runner failed'));
        if (started) await boss.stop({ graceful: true, wait: true, timeout: 5_000 }).catch((err: unknown) => logger.error({ err }, 'stopping pg-boss failed'));
        await readOnlyPool.end().catch((err: unknown) => logger.error({ err }, 'closing the read-only pool failed'));
        await pool.end().catch((err: unknown) => logger.error({ err }, 'closing postgres failed'));
      })();
      return closed;
    },
  };
}
