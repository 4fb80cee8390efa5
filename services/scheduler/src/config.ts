import { z } from 'zod';
import { baseConfigSchema, envInt } from '@contender/platform';

export const schedulerConfigSchema = baseConfigSchema
  .extend({
    PORT: envInt(8082, { min: 0, max: 65535 }),
    HOST: z.string().default('127.0.0.1'),
    REGISTRY_URL: z.string().url().default('http://127.0.0.1:8081'),
    /** The scheduler's own registry key (role data-scientist): checks callers' keys and makes every registry move. */
    REGISTRY_API_KEY: z
      .string({ error: 'required: a registry API key with role data-scientist or above' })
      .min(1, 'required: a registry API key with role data-scientist or above'),
    SERVING_URL: z.string().url().default('http://127.0.0.1:8080'),
    REGISTRY_TIMEOUT_MS: envInt(30_000, { min: 100 }),
    /** How long a key's introspection answer is trusted before the registry is asked again. */
    AUTH_CACHE_TTL_MS: envInt(60_000, { min: 0 }),
    /** A run whose replica stopped renewing its lease for this long is taken over by another. */
    RUN_LEASE_MS: envInt(60_000, { min: 500 }),
    /** How often a running step renews its lease and reads the cancel flag; also the takeover sweep's interval. */
    RUN_HEARTBEAT_MS: envInt(5_000, { min: 50 }),
    /** Steps this replica runs at once (pg-boss workers). */
    RUN_CONCURRENCY: envInt(4, { min: 1, max: 64 }),
    /** How often each replica re-reads the schedules (changes made through another replica). */
    SCHEDULE_SYNC_MS: envInt(5_000, { min: 100 }),
    /** An occurrence not claimed this long after its time counts as missed (no replica ticked it). */
    MISSED_GRACE_MS: envInt(10_000, { min: 1_000 }),
    /** Least time between two progress writes of one step. */
    PROGRESS_WRITE_MS: envInt(1_000, { min: 0 }),
    /** A module exporting `dags` (an array of DAG definitions) to run instead of dags/ (tests, benchmarks). */
    SCHEDULER_DAGS_MODULE: z.string().optional(),
    /** Where steps get their ctx.tmpDir. */
    SCHEDULER_TMP_DIR: z.string().optional(),
  })
  .refine((c) => c.RUN_HEARTBEAT_MS * 2 <= c.RUN_LEASE_MS, {
    path: ['RUN_HEARTBEAT_MS'],
    message: 'must be at most half of RUN_LEASE_MS, so that one late heartbeat does not lose the lease',
  });

export type SchedulerConfig = z.output<typeof schedulerConfigSchema>;
