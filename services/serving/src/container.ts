import {
  createLogger,
  createMetricsRegistry,
  createPool,
  createRedis,
  createRedisSubscriber,
  createShutdown,
  RequestRateLimiter,
  type Logger,
  type Pool,
  type ReadinessReport,
  type Redis,
} from '@contender/platform';
import type { Registry } from 'prom-client';
import { IntrospectionAuth } from './auth/introspection-auth.js';
import { KeyRevocationListener } from './auth/key-revocations.js';
import type { ServingConfig } from './config.js';
import { RedisFeatureCache, type FeatureCache } from './features/redis-feature-cache.js';
import { ServingMetrics } from './metrics/serving-metrics.js';
import { ArtifactCache } from './models/artifact-cache.js';
import { ModelManager } from './models/model-manager.js';
import { OnnxVersionLoader } from './models/onnx-version-loader.js';
import { PredictService } from './predict/predict-service.js';
import { PredictionLog } from './prediction-log/prediction-log.js';
import { HttpRegistryClient, type RegistryClient } from './registry/registry-client.js';

export interface ServingContainer {
  readonly config: ServingConfig;
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly servingMetrics: ServingMetrics;
  readonly pool: Pool;
  readonly redis: Redis;
  readonly subscriber: Redis;
  readonly registry: RegistryClient;
  readonly auth: IntrospectionAuth;
  readonly rateLimiter: RequestRateLimiter;
  readonly models: ModelManager;
  readonly featureCache: FeatureCache;
  readonly predictionLog: PredictionLog;
  readonly predictor: PredictService;
  /** /metrics text from elsewhere (cluster mode: all workers aggregated); unset = this process's. */
  readonly metricsText: (() => Promise<string>) | undefined;
  /** Follows key revocations, starts the prediction log, subscribes to registry events, loads the models (awaits the first reconciliation). */
  start(): Promise<void>;
  readiness(): Promise<ReadinessReport>;
  /** /readyz answers 503 from now on. */
  beginShutdown(): void;
  isShuttingDown(): boolean;
  /** Waits for shadow scorings, flushes the prediction log, releases sessions, closes Redis and Postgres. Idempotent. */
  close(): Promise<void>;
}

export interface ContainerOptions {
  logger?: Logger;
  /** The process's registry, when the caller needs it before the container exists (cluster mode). */
  metrics?: Registry;
  metricsText?: () => Promise<string>;
}

/**
 * The composition root: builds every dependency once; nothing else `new`s a service. Does no I/O
 * beyond opening (lazy) connections; migrations are main.ts's (or the test helper's) job.
 */
export function buildServingContainer(config: ServingConfig, opts: ContainerOptions = {}): ServingContainer {
  const logger = opts.logger ?? createLogger('serving', config.LOG_LEVEL);
  const metrics = opts.metrics ?? createMetricsRegistry('serving');
  const servingMetrics = new ServingMetrics(metrics);
  const pool = createPool(config.DATABASE_URL, { max: config.DATABASE_POOL_MAX, applicationName: 'contender-serving' });
  // Request path: fail fast while Redis is down (no offline queue), and never wait long on a
  // Redis that accepts connections but does not answer. Auto-pipelining batches the reads of
  // concurrent requests into one round trip. (Write-throughs have a connection of their own, in
  // the feature cache's worker thread.)
  const redis = createRedis(config.REDIS_URL, { commandTimeout: 1_000, enableAutoPipelining: true });
  const subscriber = createRedisSubscriber(config.REDIS_URL);
  const registry = new HttpRegistryClient({ url: config.REGISTRY_URL, apiKey: config.REGISTRY_API_KEY, timeoutMs: config.REGISTRY_TIMEOUT_MS });
  const rateLimiter = new RequestRateLimiter({ redis, keyPrefix: config.REDIS_KEY_PREFIX, settings: config, service: 'serving', metrics, logger });
  const auth = new IntrospectionAuth({
    introspect: (key) => registry.introspect(key),
    logger,
    ttlMs: config.AUTH_CACHE_TTL_MS,
    ...(rateLimiter.enabled ? { rateLimit: (p) => rateLimiter.consumeKey(p.role, p.keyId ?? p.name) } : {}),
  });
  const revocations = new KeyRevocationListener({ subscriber, auth, logger });
  const artifacts = new ArtifactCache({ dir: config.MODEL_CACHE_DIR, registry, logger });
  const models = new ModelManager({
    registry,
    loader: new OnnxVersionLoader({
      artifacts,
      settings: { intraOpNumThreads: config.ONNX_INTRA_OP_THREADS, maxRowsPerRun: config.ONNX_MAX_ROWS_PER_RUN },
    }),
    logger,
    metrics: servingMetrics,
    servedModels: config.SERVED_MODELS,
    reconcileIntervalMs: config.RECONCILE_INTERVAL_MS,
    subscriber,
  });
  const featureCache = new RedisFeatureCache({
    redis,
    redisUrl: config.REDIS_URL,
    keyPrefix: config.REDIS_KEY_PREFIX,
    ttlSeconds: config.FEATURE_TTL_SECONDS,
    writeDelayMs: config.FEATURE_WRITE_DELAY_MS,
    metrics: servingMetrics,
    logger,
  });
  const predictionLog = new PredictionLog({
    pool,
    databaseUrl: config.DATABASE_URL,
    logger,
    metrics,
    spillDir: config.PREDICTION_SPILL_DIR,
    batchSize: config.PREDICTION_LOG_BATCH_SIZE,
    flushIntervalMs: config.PREDICTION_LOG_FLUSH_MS,
    retentionDays: config.PREDICTION_RETENTION_DAYS,
  });
  const predictor = new PredictService({
    models,
    cache: featureCache,
    log: predictionLog,
    metrics: servingMetrics,
    logger,
    maxBatchRows: config.MAX_BATCH_ROWS,
    featureTtlSeconds: config.FEATURE_TTL_SECONDS,
    featureLimits: { maxBytes: config.FEATURE_MAX_BYTES, maxCount: config.FEATURE_MAX_COUNT },
  });

  let shuttingDown = false;
  const close = createShutdown(logger, () => [
    {
      name: 'stop following the registry',
      run: () => {
        revocations.stop();
        return models.stopFollowing();
      },
    },
    { name: 'finish shadow scoring', run: () => predictor.drain() },
    { name: 'flush the prediction log', run: () => predictionLog.close() },
    { name: 'send waiting feature write-throughs', run: () => featureCache.close() },
    { name: 'release model sessions', run: () => models.close() },
    { name: 'close the redis subscriber', run: () => subscriber.disconnect() },
    { name: 'close redis', run: () => quitRedis(redis) },
    { name: 'close postgres', run: () => pool.end() },
  ]);

  return {
    config,
    logger,
    metrics,
    servingMetrics,
    pool,
    redis,
    subscriber,
    registry,
    auth,
    rateLimiter,
    models,
    featureCache,
    predictionLog,
    predictor,
    metricsText: opts.metricsText,
    async start() {
      revocations.start();
      await predictionLog.start();
      await models.start();
    },
    async readiness() {
      const m = models.readiness();
      const log = predictionLog.ready();
      return {
        // Registry, versions and feature cache are reported, not gated on: without them serving
        // still answers (with the models it has; with features in the request).
        ready: m.models.ok && log.ok,
        checks: { models: m.models, predictionLog: log, registry: m.registry, versions: m.versions, featureCache: featureCache.readiness() },
      };
    },
    beginShutdown() {
      shuttingDown = true;
    },
    isShuttingDown: () => shuttingDown,
    close() {
      shuttingDown = true;
      return close();
    },
  };
}

/** QUIT lets write-throughs already sent complete; a dead connection is just dropped. */
async function quitRedis(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  await Promise.race([redis.quit(), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]).catch(() => {});
  redis.disconnect();
}
