import { Counter, type Registry } from 'prom-client';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from './errors.js';
import type { Logger } from './logger.js';
import type { Redis } from './redis.js';

/** 429: the caller spent its requests of this second; `Retry-After` says when to come back. */
export class RateLimitedError extends AppError {
  constructor(
    readonly limit: number,
    readonly retryAfterSeconds: number,
    what: string,
    windowSeconds = 1,
  ) {
    const per = windowSeconds === 1 ? 'second' : `${windowSeconds} s`;
    super(429, 'rate_limited', `rate limit of ${limit} requests per ${per} exceeded for ${what}; retry after ${retryAfterSeconds} s`, {
      limit,
      retryAfterSeconds,
    });
  }
}

export interface RateLimitSettings {
  RATE_LIMIT_ENABLED: boolean;
  RATE_LIMITS: Record<string, number>;
  RATE_LIMIT_ANONYMOUS: number;
  RATE_LIMIT_WINDOW_SECONDS: number;
}

export interface RequestRateLimiterDeps {
  redis: Redis;
  /** Prefix of the Redis keys; replicas that share it share the limits. */
  keyPrefix: string;
  settings: RateLimitSettings;
  /** The metric names' prefix: `<service>_rate_limited_total`, `<service>_rate_limit_fail_open_total`. */
  service: string;
  metrics: Registry;
  logger: Logger;
  /** Least time between two "Redis unreachable" warnings. Default 10 s. */
  warnIntervalMs?: number;
}

/**
 * Fixed windows (RATE_LIMIT_WINDOW_SECONDS, default one second) counted in Redis (rate-limiter-flexible's RateLimiterRedis: one
 * script call per request), so every replica with the same Redis and key prefix counts together.
 * When Redis does not answer, the request passes (fail open): counted in
 * `<service>_rate_limit_fail_open_total` and logged as a warning at most once per interval.
 */
export class RequestRateLimiter {
  private readonly byRole = new Map<string, RateLimiterRedis>();
  private readonly anonymous: RateLimiterRedis;
  private readonly limited: Counter<'role'>;
  private readonly failOpen: Counter;
  private lastWarnAt = -Infinity;
  private failedSinceWarn = 0;

  constructor(private readonly deps: RequestRateLimiterDeps) {
    const make = (bucket: string, points: number) =>
      new RateLimiterRedis({
        storeClient: deps.redis,
        keyPrefix: `${deps.keyPrefix}rate:${bucket}`,
        points,
        duration: deps.settings.RATE_LIMIT_WINDOW_SECONDS,
        // Answer at once while the client is not connected, instead of queueing behind it.
        rejectIfRedisNotReady: true,
      });
    for (const [role, points] of Object.entries(deps.settings.RATE_LIMITS)) this.byRole.set(role, make(role, points));
    this.anonymous = make('anonymous', deps.settings.RATE_LIMIT_ANONYMOUS);
    this.limited = new Counter({
      name: `${deps.service}_rate_limited_total`,
      help: 'Requests refused with 429 by the rate limit, by role (anonymous: per client address)',
      labelNames: ['role'],
      registers: [deps.metrics],
    });
    this.failOpen = new Counter({
      name: `${deps.service}_rate_limit_fail_open_total`,
      help: 'Requests let through unchecked because Redis did not answer the rate limiter',
      registers: [deps.metrics],
    });
  }

  get enabled(): boolean {
    return this.deps.settings.RATE_LIMIT_ENABLED;
  }

  /** Counts a request of an API key; rejects with RateLimitedError over its role's limit. */
  consumeKey(role: string, keyId: string | number): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    const limiter = this.byRole.get(role) ?? this.byRole.get('default')!;
    return this.consume(limiter, role, `key:${keyId}`, `key ${keyId} (role ${role})`);
  }

  /** Counts an unauthenticated request from a client address. */
  consumeAddress(address: string | undefined): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    const addr = address ?? 'unknown';
    return this.consume(this.anonymous, 'anonymous', `addr:${addr}`, `address ${addr}`);
  }

  private consume(limiter: RateLimiterRedis, role: string, key: string, what: string): Promise<void> {
    return limiter.consume(key).then(
      () => undefined,
      (res: unknown) => {
        if (res instanceof RateLimiterRes) {
          this.limited.inc({ role });
          throw new RateLimitedError(limiter.points, Math.max(1, Math.ceil(res.msBeforeNext / 1000)), what, limiter.duration);
        }
        this.failedOpen(res);
      },
    );
  }

  private failedOpen(err: unknown): void {
    this.failOpen.inc();
    this.failedSinceWarn++;
    const now = Date.now();
    if (now - this.lastWarnAt < (this.deps.warnIntervalMs ?? 10_000)) return;
    this.deps.logger.warn({ err, requestsLetThrough: this.failedSinceWarn }, 'rate limiter: Redis did not answer; requests pass unchecked');
    this.lastWarnAt = now;
    this.failedSinceWarn = 0;
  }
}
