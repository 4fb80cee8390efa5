import { API_KEY_FORMAT } from '@contender/contracts';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { baseConfigSchema, envInt } from '@contender/platform';

export const registryConfigSchema = baseConfigSchema.extend({
  PORT: envInt(8081, { min: 0, max: 65535 }),
  HOST: z.string().default('127.0.0.1'),
  /** `file:///abs/dir` or `s3://bucket[/prefix]`. */
  ARTIFACT_STORE: z.string().default(`file://${path.resolve('.data/artifacts')}`),
  S3_ENDPOINT: z.string().url().optional(),
  S3_ACCESS_KEY: z.string().optional(),
  S3_SECRET_KEY: z.string().optional(),
  S3_REGION: z.string().default('us-east-1'),
  MAX_ARTIFACT_BYTES: envInt(256 * 1024 * 1024, { min: 1 }),
  MAX_METADATA_BYTES: envInt(4 * 1024 * 1024, { min: 1024 }),
  /**
   * Largest dataset version (a CSV). It streams straight to the store and is then moved to its
   * content address; 5 GiB is the most S3 copies in one request.
   */
  MAX_DATASET_BYTES: envInt(2 * 1024 * 1024 * 1024, { min: 1, max: 5 * 1024 * 1024 * 1024 }),
  /** How long an Idempotency-Key's answer is kept; at least 24 h, which retried jobs rely on. */
  IDEMPOTENCY_TTL_MS: envInt(86_400_000, { min: 86_400_000 }),
  UPLOAD_TMP_DIR: z.string().default(os.tmpdir()),
  /** How often unreferenced version artifacts are looked for and removed; 0 turns the sweep off. */
  ARTIFACT_SWEEP_INTERVAL_MS: envInt(3_600_000, { min: 0 }),
  /** Creates (idempotently) an admin key with this value at start. No default: it is a secret. */
  // The platform's key format: serving refuses any other key without asking the registry.
  BOOTSTRAP_ADMIN_KEY: z.string().regex(API_KEY_FORMAT, 'must be ctk_ and then 12–256 letters, digits, _ or - (e.g. ctk_$(openssl rand -hex 32))').optional(),
  /** The web console's built files, served at `/` (default: this checkout's packages/console/dist). */
  CONSOLE_DIR: z.string().default(fileURLToPath(new URL('../../../packages/console/dist', import.meta.url))),
  /** The scheduler, as the registry reaches it: the console's scheduler pages pass through the registry to it. */
  SCHEDULER_URL: z.string().url().default('http://127.0.0.1:8082'),
  SCHEDULER_TIMEOUT_MS: envInt(10_000, { min: 100 }),
  /** Prefix of the registry's Redis keys (the rate limits' counters); replicas sharing it share the limits. */
  REDIS_KEY_PREFIX: z.string().default('contender:registry:'),
});

export type RegistryConfig = z.output<typeof registryConfigSchema>;
