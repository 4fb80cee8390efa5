import { ServiceUnavailableError, type Logger, type ReadinessCheck, type Redis } from '@contender/platform';
import type { ServingMetrics } from '../metrics/serving-metrics.js';
import type { FeatureMap } from './feature-encoder.js';
import { FeatureWriter } from './feature-writer.js';

export interface CachedFeatures {
  features: FeatureMap;
  /** When they were written, ms since the epoch. */
  updatedAt: number;
  /** `features` as JSON text, when at hand (what Redis holds), so it need not be serialised again. */
  json?: string;
}

/** The feature store of the request path. Reads fail fast with 503 while Redis is down. */
export interface FeatureCache {
  read(entityId: string): Promise<CachedFeatures | null>;
  readMany(entityIds: readonly string[]): Promise<Array<CachedFeatures | null>>;
  /**
   * Write-through from a request: never awaited, never throws; a failure is counted and logged.
   * `json`, if given, is JSON.stringify(features), already made by the caller.
   */
  write(entityId: string, features: FeatureMap, json?: string): void;
  writeMany(entries: ReadonlyArray<{ entityId: string; features: FeatureMap; json?: string }>): void;
  /** Sends the write-throughs waiting now; resolves once Redis has answered them. */
  flushPendingWrites(): Promise<void>;
  /** Sends what waits and stops the write-through thread (shutdown). */
  close(): Promise<void>;
  /** An explicit write (PUT /features): awaited; 503 if Redis is down. `json` as for write(). */
  put(entityId: string, features: FeatureMap, json?: string): Promise<CachedFeatures>;
  /** Seconds until the entry expires, or null if there is none. */
  readWithTtl(entityId: string): Promise<(CachedFeatures & { expiresInSeconds: number }) | null>;
  readiness(): ReadinessCheck;
}

/**
 * Features per entity in Redis under `<prefix>features:<entityId>` as
 * `{"updatedAt":<ms>,"features":{…}}`, expiring `ttlSeconds` after the last write. The client is
 * built fail-fast (no offline queue, short command timeout) and reconnects in the background.
 *
 * Write-throughs go to Redis from a worker thread (FeatureWriter), which waits up to
 * `writeDelayMs` (FEATURE_WRITE_DELAY_MS, default 20 ms) and sends them together, as one script
 * call: one socket write, one wake-up of Redis and one reply per few milliseconds instead of per
 * event-loop turn, and none of it on the thread that answers requests. Until Redis has answered,
 * this replica reads them from memory; other replicas see them that much later.
 */
export class RedisFeatureCache implements FeatureCache {
  private readonly keyPrefix: string;
  private readonly writer: FeatureWriter;
  private pendingReads = new Map<string, Array<{ resolve: (v: CachedFeatures | null) => void; reject: (err: unknown) => void }>>();
  private lastWarnAt = 0;
  private suppressed = 0;

  constructor(
    private readonly deps: {
      redis: Redis;
      /** The same Redis, for the write-through thread's own connection. */
      redisUrl: string;
      keyPrefix: string;
      ttlSeconds: number;
      metrics: ServingMetrics;
      logger: Logger;
      /** How long write-throughs may wait to be sent together. Default 20 (FEATURE_WRITE_DELAY_MS); 0 = as soon as the write-through thread sees them. */
      writeDelayMs?: number;
    },
  ) {
    this.keyPrefix = `${deps.keyPrefix}features:`;
    this.writer = new FeatureWriter({
      redisUrl: deps.redisUrl,
      ttlSeconds: deps.ttlSeconds,
      delayMs: deps.writeDelayMs ?? 20,
      logger: deps.logger,
      onFailure: (count, message) => this.warn({ message, count }, 'feature cache write-through failed; the prediction was still answered'),
    });
    deps.metrics.addWriteThroughCounts(() => this.writer.counts());
  }

  read(entityId: string): Promise<CachedFeatures | null> {
    // A write-through of this turn not sent yet is what Redis will hold a moment from now.
    const pending = this.waiting(entityId);
    if (pending) {
      this.deps.metrics.featureCacheResult('hit');
      return Promise.resolve(pending);
    }
    return new Promise((resolve, reject) => {
      if (this.pendingReads.size === 0) setImmediate(this.flushReads);
      let waiters = this.pendingReads.get(entityId);
      if (!waiters) {
        waiters = [];
        this.pendingReads.set(entityId, waiters);
      }
      waiters.push({ resolve, reject });
    });
  }

  /** The reads of one event-loop turn as one MGET: one command and one reply instead of one per request. */
  private readonly flushReads = (): void => {
    const batch = this.pendingReads;
    this.pendingReads = new Map();
    const ids = [...batch.keys()];
    this.deps.redis.mget(ids.map((id) => this.keyPrefix + id)).then(
      (raws) => {
        ids.forEach((id, i) => {
          const value = this.decode(raws[i] ?? null, id);
          for (const w of batch.get(id)!) w.resolve(value);
        });
      },
      (err: unknown) => {
        let waiting = 0;
        for (const w of batch.values()) waiting += w.length;
        const unavailable = this.unavailable(err, 'read', waiting);
        for (const ws of batch.values()) for (const w of ws) w.reject(unavailable);
      },
    );
  };

  async readMany(entityIds: readonly string[]): Promise<Array<CachedFeatures | null>> {
    if (entityIds.length === 0) return [];
    let raws: Array<string | null>;
    try {
      raws = await this.deps.redis.mget(entityIds.map((id) => this.keyPrefix + id));
    } catch (err) {
      throw this.unavailable(err, 'read', entityIds.length);
    }
    return raws.map((raw, i) => this.waiting(entityIds[i]!) ?? this.decode(raw, entityIds[i]!));
  }

  write(entityId: string, features: FeatureMap, json?: string): void {
    // Refused when the thread is far behind: counted by the writer.
    this.writer.push(this.keyPrefix + entityId, encode(features, Date.now(), json));
  }

  writeMany(entries: ReadonlyArray<{ entityId: string; features: FeatureMap; json?: string }>): void {
    for (const e of entries) this.write(e.entityId, e.features, e.json);
  }

  flushPendingWrites(): Promise<void> {
    return this.writer.flush();
  }

  close(): Promise<void> {
    return this.writer.close();
  }

  /** A write-through of this entity that Redis has not answered yet: what it will hold a moment from now. */
  private waiting(entityId: string): CachedFeatures | undefined {
    const value = this.writer.waitingValue(this.keyPrefix + entityId);
    if (value === null) return undefined;
    const parsed = JSON.parse(value) as { updatedAt: number; features: FeatureMap };
    return { features: parsed.features, updatedAt: parsed.updatedAt, json: featuresJsonOf(value) };
  }

  async put(entityId: string, features: FeatureMap, json?: string): Promise<CachedFeatures> {
    // This write is newer than a write-through still waiting, which goes on another connection:
    // that one must land first, not after it.
    if (this.writer.waitingValue(this.keyPrefix + entityId) !== null) await this.writer.flush();
    const updatedAt = Date.now();
    try {
      await this.deps.redis.set(this.keyPrefix + entityId, encode(features, updatedAt, json), 'EX', this.deps.ttlSeconds);
    } catch (err) {
      this.deps.metrics.featureCacheResult('write_error');
      throw this.unavailable(err, 'write');
    }
    this.deps.metrics.featureCacheResult('write');
    return { features, updatedAt };
  }

  async readWithTtl(entityId: string): Promise<(CachedFeatures & { expiresInSeconds: number }) | null> {
    let results: Array<[Error | null, unknown]> | null;
    try {
      results = await this.deps.redis.multi().get(this.keyPrefix + entityId).ttl(this.keyPrefix + entityId).exec();
    } catch (err) {
      throw this.unavailable(err, 'read');
    }
    const [getResult, ttlResult] = results ?? [];
    if (!getResult || getResult[0] || !ttlResult || ttlResult[0]) throw this.unavailable(getResult?.[0] ?? ttlResult?.[0], 'read');
    const cached = this.decode(getResult[1] as string | null, entityId);
    return cached ? { ...cached, expiresInSeconds: Math.max(0, Number(ttlResult[1])) } : null;
  }

  readiness(): ReadinessCheck {
    const status = this.deps.redis.status;
    return status === 'ready' ? { ok: true } : { ok: false, detail: `redis ${status}; entity-only requests get 503 until it is back` };
  }

  private decode(raw: string | null, entityId: string): CachedFeatures | null {
    if (raw === null) {
      this.deps.metrics.featureCacheResult('miss');
      return null;
    }
    try {
      const parsed = JSON.parse(raw) as { updatedAt?: unknown; features?: unknown };
      if (typeof parsed.updatedAt === 'number' && parsed.features && typeof parsed.features === 'object' && !Array.isArray(parsed.features)) {
        this.deps.metrics.featureCacheResult('hit');
        // As encode() wrote it, the features' JSON is the rest of the text after the number.
        const json = raw.startsWith(ENCODED_PREFIX) && Object.keys(parsed).length === 2 ? featuresJsonOf(raw) : undefined;
        return json === undefined
          ? { features: parsed.features as FeatureMap, updatedAt: parsed.updatedAt }
          : { features: parsed.features as FeatureMap, updatedAt: parsed.updatedAt, json };
      }
    } catch {
      // fall through: an unreadable entry is a miss, and the next write replaces it
    }
    this.deps.logger.warn({ entityId }, 'unreadable feature cache entry; treated as missing');
    this.deps.metrics.featureCacheResult('miss');
    return null;
  }

  private unavailable(err: unknown, op: 'read' | 'write', n = 1): ServiceUnavailableError {
    if (op === 'read') this.deps.metrics.featureCacheResult('error', n);
    this.warn(err, `feature cache ${op} failed`);
    return new ServiceUnavailableError(
      'feature_cache_unavailable',
      `the feature cache is unavailable (${(err as Error | undefined)?.message ?? 'unknown error'}); send the features with the request or retry later`,
    );
  }

  /** At most one warning per 10 s, so an outage under load does not flood the log. */
  private warn(err: unknown, msg: string): void {
    const now = Date.now();
    if (now - this.lastWarnAt < 10_000) {
      this.suppressed++;
      return;
    }
    this.deps.logger.warn({ err, suppressedSinceLastWarning: this.suppressed }, msg);
    this.lastWarnAt = now;
    this.suppressed = 0;
  }
}

const ENCODED_PREFIX = '{"updatedAt":';
const FEATURES_KEY = ',"features":';

function encode(features: FeatureMap, updatedAt: number, json?: string): string {
  return `${ENCODED_PREFIX}${updatedAt}${FEATURES_KEY}${json ?? JSON.stringify(features)}}`;
}

/** The features' JSON inside a value encode() made (a number has no comma, so the first one ends it). */
function featuresJsonOf(raw: string): string | undefined {
  const at = raw.indexOf(FEATURES_KEY);
  return at > 0 && raw.endsWith('}') ? raw.slice(at + FEATURES_KEY.length, -1) : undefined;
}
