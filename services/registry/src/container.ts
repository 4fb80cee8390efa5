import {
  createArtifactStorage,
  createLogger,
  createMetricsRegistry,
  createPool,
  createRedis,
  RequestRateLimiter,
  ensureDatabase,
  runMigrations,
  type ArtifactStorage,
  type Logger,
  type Pool,
  type ReadinessReport,
  type Redis,
} from '@contender/platform';
import { fileURLToPath } from 'node:url';
import type { Registry } from 'prom-client';
import type { RegistryConfig } from './config.js';
import { ApiKeyRevocationPublisher } from './events/api-key-revocation-publisher.js';
import { RegistryEventPublisher } from './events/registry-event-publisher.js';
import { ApiKeyService } from './features/api-keys/api-key-service.js';
import { PgApiKeyStore } from './features/api-keys/pg-api-key-store.js';
import { PgAuditStore } from './features/audit/pg-audit-store.js';
import { DatasetService } from './features/datasets/dataset-service.js';
import { DatasetUploader } from './features/datasets/dataset-uploader.js';
import { PgDatasetStore } from './features/datasets/pg-dataset-store.js';
import { IdempotencyService } from './features/idempotency/idempotency-service.js';
import { PgIdempotencyStore } from './features/idempotency/pg-idempotency-store.js';
import { DeploymentReadModel } from './features/deployments/deployment-read-model.js';
import { ModelService } from './features/models/model-service.js';
import { PgModelStore } from './features/models/pg-model-store.js';
import { ArtifactSweeper } from './features/versions/artifact-sweeper.js';
import { VersionUploader } from './features/versions/version-uploader.js';
import { createRegistryMetrics, type RegistryMetrics } from './registry-metrics.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

export interface RegistryContainer {
  config: RegistryConfig;
  logger: Logger;
  metricsRegistry: Registry;
  metrics: RegistryMetrics;
  pool: Pool;
  redis: Redis;
  storage: ArtifactStorage;
  models: ModelService;
  uploader: VersionUploader;
  /** Removes version artifacts no version refers to; main.ts starts it (ARTIFACT_SWEEP_INTERVAL_MS). */
  sweeper: ArtifactSweeper;
  keys: ApiKeyService;
  deployments: DeploymentReadModel;
  datasets: DatasetService;
  datasetUploader: DatasetUploader;
  idempotency: IdempotencyService;
  readiness(): Promise<ReadinessReport>;
  isShuttingDown(): boolean;
  beginShutdown(): void;
  close(): Promise<void>;
}

/** Creates the database if missing and applies the registry's migrations. */
export async function migrateRegistry(databaseUrl: string, logger?: Logger): Promise<void> {
  await ensureDatabase(databaseUrl);
  const pool = createPool(databaseUrl, { max: 1, applicationName: 'contender-registry-migrate' });
  try {
    await runMigrations(pool, { schema: 'registry', dir: MIGRATIONS_DIR, ...(logger ? { logger } : {}) });
  } finally {
    await pool.end();
  }
}

/** The composition root: builds every dependency once; nothing else `new`s a service. */
export async function buildRegistryContainer(config: RegistryConfig, opts: { logger?: Logger } = {}): Promise<RegistryContainer> {
  const logger = opts.logger ?? createLogger('registry', config.LOG_LEVEL);
  await migrateRegistry(config.DATABASE_URL, logger);
  const pool = createPool(config.DATABASE_URL, { max: config.DATABASE_POOL_MAX, applicationName: 'contender-registry' });
  const storage = createArtifactStorage({
    artifactStore: config.ARTIFACT_STORE,
    s3: { endpoint: config.S3_ENDPOINT, accessKey: config.S3_ACCESS_KEY, secretKey: config.S3_SECRET_KEY, region: config.S3_REGION },
  });
  const redis = createRedis(config.REDIS_URL);
  try {
    await storage.init();
  } catch (err) {
    await pool.end().catch(() => {});
    redis.disconnect();
    throw err;
  }
  const metricsRegistry = createMetricsRegistry('registry');
  const metrics = createRegistryMetrics(metricsRegistry, {
    countModels: async () => (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM registry.model')).rows[0]!.n,
  });
  const store = new PgModelStore();
  const audit = new PgAuditStore();
  const publisher = new RegistryEventPublisher(redis, logger, () => metrics.eventPublishFailures.inc());
  const models = new ModelService({ pool, store, audit, publisher, metrics, logger });
  const revocations = new ApiKeyRevocationPublisher(redis, logger, () => metrics.revocationPublishFailures.inc());
  const rateLimiter = new RequestRateLimiter({ redis, keyPrefix: config.REDIS_KEY_PREFIX, settings: config, service: 'registry', metrics: metricsRegistry, logger });
  const keys = new ApiKeyService({ pool, store: new PgApiKeyStore(), audit, revocations, rateLimiter });
  const idempotency = new IdempotencyService({ pool, store: new PgIdempotencyStore(), ttlMs: config.IDEMPOTENCY_TTL_MS, logger });
  const uploader = new VersionUploader({
    idempotency,
    pool,
    storage,
    models,
    store,
    metrics,
    logger,
    limits: { tmpDir: config.UPLOAD_TMP_DIR, maxArtifactBytes: config.MAX_ARTIFACT_BYTES, maxMetadataBytes: config.MAX_METADATA_BYTES },
  });
  const deployments = new DeploymentReadModel({ pool, store });
  const datasetStore = new PgDatasetStore();
  const datasets = new DatasetService({ pool, store: datasetStore, audit });
  const datasetUploader = new DatasetUploader({
    pool,
    storage,
    datasets,
    store: datasetStore,
    idempotency,
    logger,
    limits: { tmpDir: config.UPLOAD_TMP_DIR, maxArtifactBytes: config.MAX_DATASET_BYTES, maxMetadataBytes: config.MAX_METADATA_BYTES },
    rejected: metrics.datasetUploadsRejected,
    created: metrics.datasetVersionsCreated,
  });
  const sweeper = new ArtifactSweeper({ pool, storage, store, datasets: datasetStore, logger, removed: metrics.orphanArtifactsRemoved });
  if (config.BOOTSTRAP_ADMIN_KEY && (await keys.ensureBootstrapAdmin(config.BOOTSTRAP_ADMIN_KEY)).rotated) {
    logger.warn('BOOTSTRAP_ADMIN_KEY changed: the previous bootstrap-admin key is revoked and this one replaces it');
  }

  let shuttingDown = false;
  return {
    config,
    logger,
    metricsRegistry,
    metrics,
    pool,
    redis,
    storage,
    models,
    uploader,
    sweeper,
    keys,
    deployments,
    datasets,
    datasetUploader,
    idempotency,
    async readiness() {
      const [db, store, cache] = await Promise.allSettled([pool.query('SELECT 1'), storage.ping(), redis.ping()]);
      const check = (r: PromiseSettledResult<unknown>) => (r.status === 'fulfilled' ? { ok: true } : { ok: false, detail: (r.reason as Error).message });
      // Redis only carries change notifications; serving reconciles without them, so its absence
      // is reported but does not make the registry unready.
      const checks = { postgres: check(db), artifactStore: check(store), redis: check(cache) };
      return { ready: checks.postgres.ok && checks.artifactStore.ok, checks };
    },
    isShuttingDown: () => shuttingDown,
    beginShutdown() {
      shuttingDown = true;
    },
    async close() {
      shuttingDown = true;
      await sweeper.stop().catch((err: unknown) => logger.error({ err }, 'stopping the artifact sweep failed'));
      await pool.end().catch((err: unknown) => logger.error({ err }, 'closing postgres failed'));
      redis.disconnect();
    },
  };
}
