import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { isApiKeyFormat, roleAtLeast, type IntrospectResponse, type Role } from '@contender/contracts';
import { ForbiddenError, ServiceUnavailableError, UnauthorizedError, type Logger } from '@contender/platform';

export interface Principal {
  name: string;
  role: Role;
  keyId: number | null;
}

interface Entry {
  /** null: the registry said the key is not active. */
  principal: Principal | null;
  /** After this the answer is refreshed in the background on the next use. */
  freshUntil: number;
  /** After this the answer is not used at all; the request waits for the registry. */
  usableUntil: number;
  /** sha256 (hex) of the key, for revocation messages; set for active keys. */
  hash: string | null;
}

export interface IntrospectionAuthDeps {
  introspect(key: string): Promise<IntrospectResponse>;
  logger: Logger;
  /** How long an answer is trusted. */
  ttlMs: number;
  now?: () => number;
  /** Most active keys remembered; the least recently refreshed are forgotten first. */
  maxEntries?: number;
  /** Most unknown (inactive) keys remembered, apart from the active ones. */
  maxUnknownEntries?: number;
  /** Counts an authenticated request against its key's rate limit (express routes; /predict calls it itself). */
  rateLimit?: (principal: Principal) => Promise<void>;
}

/** Unknown keys are remembered for a shorter time: a key created a moment ago should work soon. */
const NEGATIVE_TTL_CAP_MS = 5_000;
/** Revocations remembered, to discard an introspection answer that was on its way when one arrived. */
const RECENT_REVOCATIONS = 1_024;

const sha256 = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex');

/**
 * API-key checks through the registry's introspection endpoint with an in-memory cache, so a
 * request pays no network hop for auth except the first one with a key. An answer is fresh for
 * `ttlMs`; after that the next request still uses it and triggers a refresh in the background
 * (a revoked key stops working within ttl plus one request), and an answer older than four ttls is
 * not used at all. While the registry is unreachable, cached keys keep working until then; an
 * unknown key gets 503.
 *
 * Guessing is kept cheap for serving and the registry: a key not of the platform's format
 * (`ctk_…`, API_KEY_FORMAT) is refused without a call, and unknown keys are remembered in a cache
 * of their own, so a flood of random keys costs one call per distinct key within the negative TTL
 * and can never push an active key out. A revocation published by the registry (revoke(), fed by
 * the `contender:api-key-revocations` channel) drops the key at once; the TTL is the fallback.
 */
export class IntrospectionAuth {
  /** Active keys, by the raw key (a lookup per request costs no hashing). */
  private readonly known = new Map<string, Entry>();
  /** Inactive or unknown keys. */
  private readonly unknown = new Map<string, Entry>();
  /** sha256 → raw key, for the active keys. */
  private readonly keyByHash = new Map<string, string>();
  /** sha256 → when its revocation arrived (newest last). */
  private readonly revokedAt = new Map<string, number>();
  private readonly pending = new Map<string, Promise<Principal | null>>();
  private readonly now: () => number;
  private readonly maxEntries: number;
  private readonly maxUnknownEntries: number;

  constructor(private readonly deps: IntrospectionAuthDeps) {
    this.now = deps.now ?? Date.now;
    this.maxEntries = deps.maxEntries ?? 10_000;
    this.maxUnknownEntries = deps.maxUnknownEntries ?? 10_000;
  }

  /**
   * The principal of an `Authorization: Bearer <key>` header. Synchronous when the key is cached,
   * so the hot path allocates no promise; a Promise otherwise. Throws (or rejects with) 401 / 503.
   */
  authenticate(header: string | undefined): Principal | Promise<Principal> {
    const key = bearerKey(header);
    const entry = this.known.get(key) ?? this.unknown.get(key);
    if (entry) {
      const now = this.now();
      if (now < entry.freshUntil) return accept(entry.principal);
      if (now < entry.usableUntil) {
        this.refresh(key).catch(() => {});
        return accept(entry.principal);
      }
    } else if (!isApiKeyFormat(key)) {
      // Only keys never seen are checked: a cached one had the format when it was first asked.
      throw new UnauthorizedError('malformed API key: platform keys are "ctk_" followed by 12–256 letters, digits, "_" or "-"');
    }
    return this.refresh(key).then(accept);
  }

  /**
   * The registry revoked the key whose sha256 is `keyHash`: from now on it is refused (401, no
   * call) until the registry is asked again after the negative TTL. An introspection answer for it
   * already on its way is discarded. Returns whether the key was cached as active.
   */
  revoke(keyHash: string): boolean {
    const now = this.now();
    this.revokedAt.delete(keyHash);
    this.revokedAt.set(keyHash, now);
    if (this.revokedAt.size > RECENT_REVOCATIONS) this.revokedAt.delete(this.revokedAt.keys().next().value!);
    const key = this.keyByHash.get(keyHash);
    if (key === undefined) return false;
    this.rememberUnknown(key, now);
    return true;
  }

  /**
   * Revocations may have been missed (the subscriber was disconnected): every active key is
   * checked again on its next use, in the background, as if its TTL were up.
   */
  expireAll(): void {
    for (const entry of this.known.values()) entry.freshUntil = 0;
  }

  /** Throws 403 unless the principal has `role` or a stronger one. */
  static requireRole(principal: Principal, role: Role, what: string): void {
    if (!roleAtLeast(principal.role, role)) {
      throw new ForbiddenError(`${what} needs role ${role} or above; key "${principal.name}" has role ${principal.role}`);
    }
  }

  /** Express middleware: 401/403/503 or `res.locals.principal` set. For the routes served by express. */
  middleware(role: Role): RequestHandler {
    return (req, res, next) => {
      const limit = this.deps.rateLimit;
      const done = (p: Principal) => {
        IntrospectionAuth.requireRole(p, role, `${req.method} ${req.baseUrl}${req.route?.path ?? req.path}`);
        res.locals.principal = p;
        if (limit) limit(p).then(() => next(), next);
        else next();
      };
      try {
        const p = this.authenticate(req.headers.authorization);
        if (p instanceof Promise) p.then(done).catch(next);
        else done(p);
      } catch (err) {
        next(err);
      }
    };
  }

  private refresh(key: string): Promise<Principal | null> {
    let p = this.pending.get(key);
    if (p) return p;
    const askedAt = this.now();
    p = this.deps
      .introspect(key)
      .then(
        (r) => {
          const principal: Principal | null =
            r.active && r.role ? { name: r.name ?? `key ${r.keyId ?? '?'}`, role: r.role, keyId: r.keyId ?? null } : null;
          const now = this.now();
          const hash = principal ? sha256(key) : null;
          // A revocation that arrived after the question: the registry answered before committing it.
          const revoked = hash === null ? undefined : this.revokedAt.get(hash);
          if (!principal || (revoked !== undefined && revoked >= askedAt)) {
            this.rememberUnknown(key, now);
            return null;
          }
          this.rememberKnown(key, { principal, freshUntil: now + this.deps.ttlMs, usableUntil: now + this.deps.ttlMs * 4, hash });
          return principal;
        },
        (err: unknown) => {
          const stale = this.known.get(key) ?? this.unknown.get(key);
          if (stale && this.now() < stale.usableUntil) return stale.principal;
          this.deps.logger.warn({ err }, 'key introspection failed');
          throw new ServiceUnavailableError('auth_unavailable', 'the API key could not be checked: the registry is unreachable; retry later');
        },
      )
      .finally(() => this.pending.delete(key));
    this.pending.set(key, p);
    return p;
  }

  private rememberKnown(key: string, entry: Entry): void {
    this.unknown.delete(key);
    this.forgetKnown(key);
    this.known.set(key, entry);
    this.keyByHash.set(entry.hash!, key);
    // Map iterates in insertion order: the first keys are the least recently refreshed.
    while (this.known.size > this.maxEntries) this.forgetKnown(this.known.keys().next().value!);
  }

  private rememberUnknown(key: string, now: number): void {
    this.forgetKnown(key);
    const ttl = Math.min(this.deps.ttlMs, NEGATIVE_TTL_CAP_MS);
    this.unknown.delete(key);
    this.unknown.set(key, { principal: null, freshUntil: now + ttl, usableUntil: now + ttl * 4, hash: null });
    while (this.unknown.size > this.maxUnknownEntries) this.unknown.delete(this.unknown.keys().next().value!);
  }

  private forgetKnown(key: string): void {
    const entry = this.known.get(key);
    if (!entry) return;
    this.known.delete(key);
    if (entry.hash !== null && this.keyByHash.get(entry.hash) === key) this.keyByHash.delete(entry.hash);
  }
}

function accept(principal: Principal | null): Principal {
  if (!principal) throw new UnauthorizedError('unknown, revoked or inactive API key');
  return principal;
}

function bearerKey(header: string | undefined): string {
  if (header === undefined || header === '') throw new UnauthorizedError('missing API key: send "Authorization: Bearer <key>"');
  if (header.length < 8 || header.slice(0, 7).toLowerCase() !== 'bearer ') {
    throw new UnauthorizedError('malformed Authorization header: expected "Bearer <key>"');
  }
  const key = header.slice(7).trim();
  if (!key || key.length > 512) throw new UnauthorizedError('malformed Authorization header: expected "Bearer <key>"');
  return key;
}
