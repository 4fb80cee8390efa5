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
});
