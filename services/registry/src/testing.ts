import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Role } from '@contender/contracts';
import { createLogger, closeServer, httpServerOptions } from '@contender/platform';
import { createTestDatabase, type TestDatabase } from '@contender/platform/testing';
import type { Express } from 'express';
import { createApp } from './app.js';
import { registryConfigSchema } from './config.js';
import { buildRegistryContainer, type RegistryContainer } from './container.js';

export interface TestRegistry {
  /** Base URL, e.g. http://127.0.0.1:40123 (API under /api/v1). */
  url: string;
  adminKey: string;
  app: Express;
  container: RegistryContainer;
  database: TestDatabase;
  /** S3 bucket name when `store: 's3'`, else null. */
  bucket: string | null;
  createKey(role: Role, name?: string): Promise<string>;
  close(): Promise<void>;
}

export interface TestRegistryOptions {
  redisUrl?: string;
  /** 'file' (a temp dir, the default) or 's3' (a fresh bucket on the S3 test server). */
  store?: 'file' | 's3';
  /** Extra environment for the registry's config (e.g. MAX_ARTIFACT_BYTES). */
  env?: Record<string, string>;
}

/**
 * The real registry, in-process, on an ephemeral loopback port, with a database (and bucket or
 * folder) of its own: for this service's tests and for the services that follow it.
 */
export async function startTestRegistry(opts: TestRegistryOptions = {}): Promise<TestRegistry> {
  const database = await createTestDatabase('registry');
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'contender-registry-'));
  const bucket = opts.store === 's3' ? `t-registry-${randomBytes(4).toString('hex')}` : null;
  const s3 = bucket
    ? {
        ARTIFACT_STORE: `s3://${bucket}`,
        S3_ENDPOINT: process.env.S3_TEST_ENDPOINT ?? 'http://127.0.0.1:18080',
        S3_ACCESS_KEY: process.env.S3_TEST_ACCESS_KEY ?? 'test:tester',
        S3_SECRET_KEY: process.env.S3_TEST_SECRET_KEY ?? 'testing',
      }
    : { ARTIFACT_STORE: `file://${path.join(tmp, 'artifacts')}` };
  const adminKey = `ctk_test_admin_${randomBytes(16).toString('hex')}`;
  const config = registryConfigSchema.parse({
    DATABASE_URL: database.url,
    REDIS_URL: opts.redisUrl ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    BOOTSTRAP_ADMIN_KEY: adminKey,
    // Rate-limit counters of its own (they expire with their window, a second by default).
    REDIS_KEY_PREFIX: `t-registry-${randomBytes(4).toString('hex')}:`,
    UPLOAD_TMP_DIR: tmp,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...s3,
    ...opts.env,
  });
  const container = await buildRegistryContainer(config, { logger: createLogger('registry', config.LOG_LEVEL) });
  const app = createApp(container);
  const server: Server = createServer(httpServerOptions(config), app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let n = 0;
  return {
    url,
    adminKey,
    app,
    container,
    database,
    bucket,
    async createKey(role, name) {
      const created = await container.keys.create({ name: name ?? `${role}-${++n}-${randomBytes(3).toString('hex')}`, role }, 'test');
      return created.key;
    },
    async close() {
      await closeServer(server).catch(() => {});
      await container.close();
      await database.drop().catch(() => {});
      if (bucket) {
        const { removeTestBucket } = await import('@contender/platform/testing');
        await removeTestBucket(bucket).catch(() => {});
      }
      await rm(tmp, { recursive: true, force: true });
    },
  };
}
