import cluster from 'node:cluster';
import { createServer } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {
  closeServer,
  createLogger,
  createMetricsRegistry,
  createPool,
  createShutdown,
  ensureDatabase,
  handleFatalErrors,
  handleSignals,
  httpServerOptions,
  loadConfig,
  type Logger,
} from '@contender/platform';
import { createApp } from './app.js';
import { clusterMetricsSource, serveClusterMetrics } from './cluster-metrics.js';
import { servingConfigSchema, type ServingConfig } from './config.js';
import { buildServingContainer } from './container.js';
import { migrateServing } from './prediction-log/migrate.js';

// The only file that reads process.env, listens, and handles signals.
let config: ServingConfig;
try {
  config = loadConfig(servingConfigSchema);
} catch (err) {
  // Every bad key at once, without a stack: the operator fixes the environment in one round.
  process.stderr.write(`serving: ${(err as Error).message}\n`);
  process.exit(1);
}
const logger = createLogger('serving', config.LOG_LEVEL);
const workers = config.SERVING_WORKERS === 0 ? os.availableParallelism() : config.SERVING_WORKERS;

try {
  if (workers > 1 && cluster.isPrimary) await runPrimary(config, workers);
  else await runWorker(config, workers > 1 ? (process.env.SERVING_WORKER_INDEX ?? String(cluster.worker?.id ?? 0)) : null);
} catch (err) {
  logger.fatal({ err }, 'serving failed to start');
  process.exit(1);
}

async function migrate(cfg: ServingConfig, log: Logger): Promise<void> {
  await ensureDatabase(cfg.DATABASE_URL);
  const pool = createPool(cfg.DATABASE_URL, { max: 1, applicationName: 'contender-serving-migrate' });
  try {
    await migrateServing(pool, log);
  } finally {
    await pool.end();
  }
}

/**
 * Cluster primary: migrates once, forks the workers (each keeps its index across restarts, so a
 * replacement worker replays the spill folder its predecessor left), restarts a worker that dies,
 * aggregates /metrics for them, and on SIGTERM stops them all and waits for their shutdown.
 */
async function runPrimary(cfg: ServingConfig, n: number): Promise<void> {
  await migrate(cfg, logger);
  serveClusterMetrics();
  let stopping = false;
  const spawn = (index: number) => {
    const worker = cluster.fork({ SERVING_WORKER_INDEX: String(index) });
    worker.on('exit', (code, signal) => {
      if (stopping) return;
      logger.error({ index, code, signal }, 'serving worker exited; starting a replacement');
      setTimeout(() => spawn(index), 1_000).unref();
    });
  };
  for (let i = 0; i < n; i++) spawn(i);
  logger.info({ workers: n, port: cfg.PORT }, 'serving cluster started');
  const stop = async () => {
    stopping = true;
    const alive = Object.values(cluster.workers ?? {}).filter((w) => w && !w.isDead());
    await Promise.all(
      alive.map(
        (w) =>
          new Promise<void>((resolve) => {
            w!.once('exit', () => resolve());
            w!.process.kill('SIGTERM');
          }),
      ),
    );
  };
  // Workers have SHUTDOWN_TIMEOUT_MS each; the primary waits a little longer than they do.
  handleSignals(logger, stop, cfg.SHUTDOWN_TIMEOUT_MS + 2_000);
}

async function runWorker(cfg: ServingConfig, workerIndex: string | null): Promise<void> {
  const log = workerIndex === null ? logger : logger.child({ worker: workerIndex });
  if (workerIndex === null) await migrate(cfg, log);
  const metrics = createMetricsRegistry('serving');
  const container = buildServingContainer(
    // Each worker needs a spill folder of its own: two writers to one spill file would interleave.
    workerIndex === null ? cfg : { ...cfg, PREDICTION_SPILL_DIR: path.join(cfg.PREDICTION_SPILL_DIR, `worker-${workerIndex}`) },
    { logger: log, metrics, ...(workerIndex === null ? {} : { metricsText: clusterMetricsSource(metrics) }) },
  );
  const server = createServer(httpServerOptions(cfg), createApp(container));
  const shutdown = createShutdown(log, () => [
    { name: 'report not ready', run: () => container.beginShutdown() },
    { name: 'stop accepting and drain in-flight requests', run: () => closeServer(server) },
    { name: 'close the container', run: () => container.close() },
  ]);
  // A process that dies without finishing a shutdown first saves the predictions it still holds
  // in memory to its spill folder; the next start (or the replacement worker) writes them.
  const lastWords = () => void container.predictionLog.saveUnwrittenSync();
  handleSignals(log, shutdown, cfg.SHUTDOWN_TIMEOUT_MS, lastWords);
  handleFatalErrors(log, lastWords);
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(cfg.PORT, cfg.HOST, () => resolve());
    }).then(() => log.info({ port: cfg.PORT, registry: cfg.REGISTRY_URL }, 'serving listening'));
  if (workerIndex === null) {
    // A single process listens first: /healthz answers and /readyz says what is missing while the
    // models load, and the load balancer waits for it.
    await listen();
    await container.start();
  } else {
    // The cluster primary hands connections to whichever workers listen, without asking /readyz:
    // a worker joins once its first reconciliation is done, so it does not get traffic it could
    // only answer with 503 while its siblings are ready.
    await container.start();
    await listen();
  }
}
