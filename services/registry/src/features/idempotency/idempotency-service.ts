import { createHash } from 'node:crypto';
import { BadRequestError, ConflictError, type Logger, type Pool, type PoolClient } from '@contender/platform';
import type { Request } from 'express';
import type { PgIdempotencyStore } from './pg-idempotency-store.js';

/** Who sent which key to what: the answer is looked up by (apiKeyId, key). */
export interface IdempotencyScope {
  apiKeyId: number;
  key: string;
  method: string;
  path: string;
}

/**
 * Called by a creating service inside its transaction, after the change and with the response it
 * is about to return: the answer is recorded in that same transaction, so it exists exactly when
 * the change does (a crash can never leave one without the other).
 */
export type CommitHook = (tx: PoolClient, response: unknown) => Promise<void>;

export interface IdempotentAnswer {
  status: number;
  body: unknown;
  /** true when this is the stored answer of an earlier request */
  replayed: boolean;
}

export const IDEMPOTENCY_HEADER = 'idempotency-key';
const KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * `Idempotency-Key` on creating POSTs. A request with a key the same API key already used:
 * - same method, path and body (fingerprint) → the first answer again (status and body), nothing
 *   done twice;
 * - anything else → 409 `idempotency_key_reused`.
 * Concurrent requests with one key: the second waits for the first's transaction (the answer's
 * primary key, or the row lock both take) and then returns the first's answer; it never creates
 * a second thing. Only successful answers are kept: a refused request changed nothing, so a repeat
 * is simply tried again. Answers are kept `ttlMs` (at least 24 h).
 */
export class IdempotencyService {
  constructor(private readonly deps: { pool: Pool; store: PgIdempotencyStore; ttlMs: number; logger: Logger }) {}

  /** The request's scope, null without the header; 400 for a malformed key. Call after authentication. */
  scope(req: Request): IdempotencyScope | null {
    const raw = req.headers[IDEMPOTENCY_HEADER];
    if (raw === undefined) return null;
    const key = Array.isArray(raw) ? raw.join(',') : raw;
    if (!KEY.test(key)) {
      throw new BadRequestError(
        'header Idempotency-Key must be 1 to 255 visible ASCII characters (no spaces), e.g. a UUID',
        { header: 'Idempotency-Key' },
        'invalid_idempotency_key',
      );
    }
    if (!req.principal) throw new Error('IdempotencyService.scope needs an authenticated request');
    return { apiKeyId: req.principal.keyId, key, method: req.method, path: `${req.baseUrl}${req.path}` };
  }

  /** sha256 over method, path and the parts that make up the body. */
  fingerprint(scope: IdempotencyScope, bodyParts: string[]): string {
    const h = createHash('sha256');
    for (const p of [scope.method, scope.path, ...bodyParts]) h.update(`${Buffer.byteLength(p)}:${p}\n`);
    return h.digest('hex');
  }

  /**
   * Runs `fn` once per key: returns the stored answer when there is one, else runs `fn` with the
   * hook it must hand to the service that commits the change. Without a scope, just runs `fn`.
   */
  async run(scope: IdempotencyScope | null, fingerprint: string, status: number, fn: (hook?: CommitHook) => Promise<unknown>): Promise<IdempotentAnswer> {
    if (!scope) return { status, body: await fn(), replayed: false };
    const { pool, store } = this.deps;
    const prior = await store.find(pool, scope.apiKeyId, scope.key);
    if (prior) return this.replay(prior, scope, fingerprint);
    await store.purgeExpired(pool, 100).catch((err: unknown) => this.deps.logger.warn({ err }, 'purging expired idempotency keys failed'));
    let recorded = false;
    const hook: CommitHook = async (tx, response) => {
      await store.insert(tx, { ...scope, fingerprint, status, response, ttlMs: this.deps.ttlMs });
      recorded = true;
    };
    try {
      const body = await fn(hook);
      if (!recorded) this.deps.logger.error({ path: scope.path }, 'a creating route ran with an Idempotency-Key but did not record its answer');
      return { status, body, replayed: false };
    } catch (err) {
      // A concurrent request with this key may have committed first; then its answer is ours
      // (our transaction rolled back, or refused what the first one already did).
      const won = await store.find(pool, scope.apiKeyId, scope.key).catch(() => null);
      if (won) return this.replay(won, scope, fingerprint);
      throw err;
    }
  }

  private replay(prior: { method: string; path: string; fingerprint: string; status: number; response: unknown; createdAt: Date }, scope: IdempotencyScope, fingerprint: string): IdempotentAnswer {
    if (prior.fingerprint !== fingerprint) {
      const same = prior.method === scope.method && prior.path === scope.path;
      throw new ConflictError(
        same
          ? `Idempotency-Key "${scope.key}" was already used for ${prior.method} ${prior.path} with another body; send a new key for a new request`
          : `Idempotency-Key "${scope.key}" was already used for ${prior.method} ${prior.path}; send a new key for a new request`,
        { header: 'Idempotency-Key', key: scope.key, firstUsedFor: `${prior.method} ${prior.path}`, firstUsedAt: prior.createdAt.toISOString() },
        'idempotency_key_reused',
      );
    }
    return { status: prior.status, body: prior.response, replayed: true };
  }
}

/** A JSON value with object keys sorted, so `{"a":1,"b":2}` and `{ "b": 2, "a": 1 }` are one request. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** An upload's `metadata` part as identity: canonical when it is JSON, else its text as sent. */
export function canonicalMetadata(text: string | null): string {
  if (text === null || text.trim() === '') return '';
  try {
    return canonicalJson(JSON.parse(text));
  } catch {
    return `raw:${text}`;
  }
}
