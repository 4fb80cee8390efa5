import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { closeServer, createLogger, createPool, ensureDatabase } from '@contender/platform';
import { deleteRedisKeys } from '@contender/platform/testing';
import { createApp, type ServingApp } from './app.js';
import { servingConfigSchema, type ServingConfig } from './config.js';
import { buildServingContainer, type ServingContainer } from './container.js';
import { migrateServing } from './prediction-log/migrate.js';

export interface TestServingOptions {
  registryUrl: string;
  /** A registry key with role predictor or above. */
  apiKey: string;
  databaseUrl: string;
  redisUrl?: string;
  /**
   * Default: a random one, so parallel test files never share feature keys; its keys are deleted
   * on close().
   */
  redisKeyPrefix?: string;
  /** Extra environment for the config (e.g. SERVED_MODELS, RECONCILE_INTERVAL_MS). */
  env?: Record<string, string>;
  /** Wait until /readyz would answer 200 (every deployed champion loaded). Default true. */
  waitUntilReady?: boolean;
  readyTimeoutMs?: number;
}

export interface TestServing {
  /** Base URL, e.g. http://127.0.0.1:40123. */
  url: string;
  app: ServingApp;
  container: ServingContainer;
  config: ServingConfig;
  /** Polls readiness until ready or the deadline passes (then rejects with the last report). */
  waitUntilReady(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The real serving service in-process on an ephemeral loopback port: migrates `databaseUrl`,
 * follows the registry at `registryUrl`, and uses a spill and model-cache folder of its own.
 * For this service's tests and for the services that depend on it (the scheduler's).
 */
export async function startTestServing(opts: TestServingOptions): Promise<TestServing> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'contender-serving-'));
  const config = servingConfigSchema.parse({
    DATABASE_URL: opts.databaseUrl,
    REDIS_URL: opts.redisUrl ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    REGISTRY_URL: opts.registryUrl,
    REGISTRY_API_KEY: opts.apiKey,
    REDIS_KEY_PREFIX: opts.redisKeyPrefix ?? `t-serving-${randomBytes(4).toString('hex')}:`,
    MODEL_CACHE_DIR: path.join(tmp, 'models'),
    PREDICTION_SPILL_DIR: path.join(tmp, 'spill'),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...opts.env,
  });
  await ensureDatabase(config.DATABASE_URL);
  const migratePool = createPool(config.DATABASE_URL, { max: 1 });
  try {
    await migrateServing(migratePool);
  } finally {
    await migratePool.end();
  }
  const container = buildServingContainer(config, { logger: createLogger('serving', config.LOG_LEVEL) });
  const app = createApp(container);
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const waitUntilReady = async (timeoutMs = opts.readyTimeoutMs ?? 20_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const report = await container.readiness();
      if (report.ready) return;
      if (Date.now() > deadline) throw new Error(`serving not ready after ${timeoutMs} ms: ${JSON.stringify(report.checks)}`);
      await new Promise<void>((resolve) => {
        const off = container.models.onApplied(() => {
          off();
          clearTimeout(timer);
          resolve();
        });
        // Readiness also depends on the prediction log; look again after a short while.
        const timer = setTimeout(() => {
          off();
          resolve();
        }, 100);
      });
    }
  };
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      container.beginShutdown();
      await closeServer(server).catch(() => {});
      await container.close();
      await rm(tmp, { recursive: true, force: true });
      if (opts.redisKeyPrefix === undefined) await deleteRedisKeys(config.REDIS_URL, config.REDIS_KEY_PREFIX);
    })());
  try {
    await container.start();
    if (opts.waitUntilReady ?? true) await waitUntilReady();
  } catch (err) {
    await close();
    throw err;
  }
  return { url, app, container, config, waitUntilReady, close };
}
