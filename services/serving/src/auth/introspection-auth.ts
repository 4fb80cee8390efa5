import type { RequestHandler } from 'express';
import { roleAtLeast, type IntrospectResponse, type Role } from '@contender/contracts';
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
}

export interface IntrospectionAuthDeps {
  introspect(key: string): Promise<IntrospectResponse>;
  logger: Logger;
  /** How long an answer is trusted. */
  ttlMs: number;
  now?: () => number;
  /** Most keys remembered; the oldest are forgotten first. */
  maxEntries?: number;
}

/** Unknown keys are remembered for a shorter time: a key created a moment ago should work soon. */
const NEGATIVE_TTL_CAP_MS = 5_000;

/**
 * API-key checks through the registry's introspection endpoint with an in-memory cache, so a
 * request pays no network hop for auth except the first one with a key. An answer is fresh for
 * `ttlMs`; after that the next request still uses it and triggers a refresh in the background
 * (a revoked key stops working within ttl plus one request), and an answer older than four ttls is
 * not used at all. While the registry is unreachable, cached keys keep working until then; an
 * unknown key gets 503.
 */
export class IntrospectionAuth {
  private readonly cache = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<Principal | null>>();
  private readonly now: () => number;
  private readonly maxEntries: number;

  constructor(private readonly deps: IntrospectionAuthDeps) {
    this.now = deps.now ?? Date.now;
    this.maxEntries = deps.maxEntries ?? 10_000;
  }

  /**
   * The principal of an `Authorization: Bearer <key>` header. Synchronous when the key is cached,
   * so the hot path allocates no promise; a Promise otherwise. Throws (or rejects with) 401 / 503.
   */
  authenticate(header: string | undefined): Principal | Promise<Principal> {
    const key = bearerKey(header);
    const entry = this.cache.get(key);
    if (entry) {
      const now = this.now();
      if (now < entry.freshUntil) return accept(entry.principal);
      if (now < entry.usableUntil) {
        this.refresh(key).catch(() => {});
        return accept(entry.principal);
      }
    }
    return this.refresh(key).then(accept);
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
      const done = (p: Principal) => {
        IntrospectionAuth.requireRole(p, role, `${req.method} ${req.baseUrl}${req.route?.path ?? req.path}`);
        res.locals.principal = p;
        next();
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
    p = this.deps
      .introspect(key)
      .then(
        (r) => {
          const principal: Principal | null =
            r.active && r.role ? { name: r.name ?? `key ${r.keyId ?? '?'}`, role: r.role, keyId: r.keyId ?? null } : null;
          const ttl = principal ? this.deps.ttlMs : Math.min(this.deps.ttlMs, NEGATIVE_TTL_CAP_MS);
          const now = this.now();
          this.remember(key, { principal, freshUntil: now + ttl, usableUntil: now + ttl * 4 });
          return principal;
        },
        (err: unknown) => {
          const stale = this.cache.get(key);
          if (stale && this.now() < stale.usableUntil) return stale.principal;
          this.deps.logger.warn({ err }, 'key introspection failed');
          throw new ServiceUnavailableError('auth_unavailable', 'the API key could not be checked: the registry is unreachable; retry later');
        },
      )
      .finally(() => this.pending.delete(key));
    this.pending.set(key, p);
    return p;
  }

  private remember(key: string, entry: Entry): void {
    this.cache.delete(key);
    this.cache.set(key, entry);
    // Map iterates in insertion order: the first keys are the least recently refreshed.
    while (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
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
