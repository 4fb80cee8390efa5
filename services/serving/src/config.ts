import path from 'node:path';
import { z } from 'zod';
import { baseConfigSchema, envInt } from '@contender/platform';

/** `a, b,c` → ['a','b','c']; empty or unset → null (serve every model that has a champion). */
const modelList = z
  .string()
  .optional()
  .transform((v) => {
    const names = (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    return names.length ? names : null;
  });

export const servingConfigSchema = baseConfigSchema.extend({
  PORT: envInt(8080, { min: 0, max: 65_535 }),
  HOST: z.string().default('127.0.0.1'),
  REGISTRY_URL: z.string().url().default('http://127.0.0.1:8081'),
  /** A registry key with role `predictor` or above: lists deployments and downloads artifacts. */
  REGISTRY_API_KEY: z
    .string({ error: 'required: a registry API key with role predictor or above' })
    .min(1, 'required: a registry API key with role predictor or above'),
  REGISTRY_TIMEOUT_MS: envInt(10_000, { min: 100 }),
  SERVED_MODELS: modelList,
  RECONCILE_INTERVAL_MS: envInt(15_000, { min: 100 }),
  FEATURE_TTL_SECONDS: envInt(86_400, { min: 1 }),
  /**
   * How long write-throughs wait to be sent to Redis together (one script call per wait); 0 = as
   * soon as the write-through thread sees them. Other replicas see one at most this much later.
   */
  FEATURE_WRITE_DELAY_MS: envInt(20, { min: 0, max: 1_000 }),
  /** Most bytes of JSON an entity's cached features may take (PUT /features and write-throughs); more → 413. */
  FEATURE_MAX_BYTES: envInt(16_384, { min: 64, max: 1024 * 1024 }),
  /** Most features an entity's cache entry may hold; more → 400. */
  FEATURE_MAX_COUNT: envInt(512, { min: 1, max: 100_000 }),
  MAX_BATCH_ROWS: envInt(10_000, { min: 1, max: 1_000_000 }),
  /**
   * Bytes of JSON budgeted per row of `POST /predict/batch`: its body limit is
   * MAX_BATCH_ROWS × BATCH_ROW_BYTES plus BATCH_ENVELOPE_BYTES (see batchBodyLimitBytes). A row
   * of 23 numeric features takes about 360 bytes.
   */
  BATCH_ROW_BYTES: envInt(1_024, { min: 64, max: 1024 * 1024 }),
  /** node:cluster workers; 0 = one per core. */
  SERVING_WORKERS: envInt(1, { min: 0, max: 256 }),
  MODEL_CACHE_DIR: z.string().min(1).default(path.join('.data', 'serving', 'models')),
  REDIS_KEY_PREFIX: z.string().default('contender:'),
  /** How long a key's introspection answer is trusted before the registry is asked again. */
  AUTH_CACHE_TTL_MS: envInt(60_000, { min: 0 }),
  /** onnxruntime intra-op threads per session; 0 = onnxruntime's default (one per core). */
  ONNX_INTRA_OP_THREADS: envInt(1, { min: 0, max: 256 }),
  /**
   * Most rows in one onnxruntime run; more are scored in consecutive runs of this size, and the
   * event loop serves other requests between them. 0 = no limit.
   */
  ONNX_MAX_ROWS_PER_RUN: envInt(500, { min: 0, max: 1_000_000 }),
  PREDICTION_RETENTION_DAYS: envInt(30, { min: 1 }),
  PREDICTION_SPILL_DIR: z.string().min(1).default(path.join('.data', 'serving', 'spill')),
  PREDICTION_LOG_BATCH_SIZE: envInt(500, { min: 1, max: 50_000 }),
  PREDICTION_LOG_FLUSH_MS: envInt(200, { min: 1 }),
});

export type ServingConfig = z.output<typeof servingConfigSchema>;

/** Largest request body accepted on every route but `POST /predict/batch`; larger → 413. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Room in a batch body for what is not a row (`model`, `variant`, the brackets). */
export const BATCH_ENVELOPE_BYTES = 64 * 1024;

/** `POST /predict/batch`'s body limit: MAX_BATCH_ROWS rows of BATCH_ROW_BYTES each, plus the envelope. */
export function batchBodyLimitBytes(cfg: Pick<ServingConfig, 'MAX_BATCH_ROWS' | 'BATCH_ROW_BYTES'>): number {
  return Math.max(MAX_BODY_BYTES, cfg.MAX_BATCH_ROWS * cfg.BATCH_ROW_BYTES + BATCH_ENVELOPE_BYTES);
}
