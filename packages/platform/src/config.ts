import { z } from 'zod';

/**
 * Parses a service's environment with its zod schema, once, at boot. Fails fast with every bad
 * key listed (not just the first), so a misconfigured deployment is fixed in one round.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): Readonly<z.output<S>> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return Object.freeze(parsed.data);
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * A boolean environment variable. `z.coerce.boolean()` would read "false" as true, so only the
 * spellings below are accepted.
 */
export const envBoolean = (defaultValue: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(defaultValue ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const envInt = (defaultValue: number, opts: { min?: number; max?: number } = {}) =>
  z.coerce
    .number()
    .int()
    .min(opts.min ?? Number.MIN_SAFE_INTEGER)
    .max(opts.max ?? Number.MAX_SAFE_INTEGER)
    .default(defaultValue);

/** Requests per second per API key, by role; roles not listed take `default`. Generous: a limit is a guard, not a quota. */
export const DEFAULT_RATE_LIMITS: Readonly<Record<string, number>> = Object.freeze({
  reader: 1_000,
  predictor: 50_000,
  'data-scientist': 5_000,
  admin: 5_000,
  default: 1_000,
});

const limitsJson = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v.trim() === '') return { ...DEFAULT_RATE_LIMITS };
    let parsed: unknown;
    try {
      parsed = JSON.parse(v);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON like {"predictor":50000,"reader":1000}' });
      return z.NEVER;
    }
    const r = z.record(z.string(), z.number().int().min(1)).safeParse(parsed);
    if (!r.success) {
      ctx.addIssue({ code: 'custom', message: 'must map role names to whole numbers of requests per second (≥ 1)' });
      return z.NEVER;
    }
    return { ...DEFAULT_RATE_LIMITS, ...r.data };
  });

/** The rate-limit settings every service shares (part of baseConfigSchema). */
const rateLimitConfigShape = {
  /** false: no limits at all (and no Redis call for them). */
  RATE_LIMIT_ENABLED: envBoolean(true),
  /** Requests per window per API key, by role, as JSON; merged over DEFAULT_RATE_LIMITS. */
  RATE_LIMITS: limitsJson,
  /** Requests per window per client address to unauthenticated endpoints (the registry's introspection). */
  RATE_LIMIT_ANONYMOUS: envInt(1_000, { min: 1 }),
  /** The limits' window: a fixed window of this many seconds from a key's first request in it. */
  RATE_LIMIT_WINDOW_SECONDS: envInt(1, { min: 1, max: 86_400 }),
};

/** Settings every service shares; each service extends this with its own keys. */
export const baseConfigSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: z.string().url().default('postgres://127.0.0.1:5432/contender'),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  DATABASE_POOL_MAX: envInt(10, { min: 1, max: 200 }),
  SHUTDOWN_TIMEOUT_MS: envInt(10_000, { min: 100 }),
  /** A request's headers must be complete this long after the connection sent its first byte. */
  HTTP_HEADERS_TIMEOUT_MS: envInt(10_000, { min: 100 }),
  /** The whole request, body included (a 256 MiB upload on a slow link), within this. */
  HTTP_REQUEST_TIMEOUT_MS: envInt(300_000, { min: 100 }),
  /** A JSON body (at most a few MiB) must have arrived this long after reading began. */
  HTTP_BODY_TIMEOUT_MS: envInt(10_000, { min: 100 }),
  ...rateLimitConfigShape,
});
