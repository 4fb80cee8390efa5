import { createHash, randomBytes } from 'node:crypto';
import type { ApiKeyInfo, IntrospectResponse, Role } from '@contender/contracts';
import { ConflictError, NotFoundError, withTransaction, type Pool, type RequestRateLimiter } from '@contender/platform';
import type { ApiKeyRevocationPublisher } from '../../events/api-key-revocation-publisher.js';
import type { PgAuditStore } from '../audit/pg-audit-store.js';
import type { PgApiKeyStore } from './pg-api-key-store.js';

export interface Principal {
  keyId: number;
  name: string;
  role: Role;
}

/**
 * The audit actor of a key: its name and id, `alice#12`. Names can be reused once a key is
 * revoked, ids never; key names cannot contain "#", so the two parts are unambiguous. What no key
 * did is recorded under a bare reserved name (`system`).
 */
export const actorOf = (p: Pick<Principal, 'name' | 'keyId'>) => `${p.name}#${p.keyId}`;

export const hashKey = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex');

/** `ctk_` + 256 random bits, base64url: recognisable in logs and secret scanners, unguessable. */
export function generateKey(): string {
  return `ctk_${randomBytes(32).toString('base64url')}`;
}

export class ApiKeyService {
  constructor(
    private readonly deps: {
      pool: Pool;
      store: PgApiKeyStore;
      audit: PgAuditStore;
      revocations?: Pick<ApiKeyRevocationPublisher, 'publish'>;
      /** Per-key and per-address request limits (429 over them). */
      rateLimiter?: RequestRateLimiter;
    },
  ) {}

  /** Counts an authenticated request against its key's limit; rejects with 429 over it. */
  countRequest(principal: Principal): Promise<void> {
    return this.deps.rateLimiter ? this.deps.rateLimiter.consumeKey(principal.role, principal.keyId) : Promise.resolve();
  }

  /** Counts an unauthenticated request (introspection) against its client address's limit. */
  countAnonymousRequest(address: string | undefined): Promise<void> {
    return this.deps.rateLimiter ? this.deps.rateLimiter.consumeAddress(address) : Promise.resolve();
  }

  async authenticate(key: string): Promise<Principal | null> {
    const k = await this.deps.store.findActiveByHash(this.deps.pool, hashKey(key));
    return k ? { keyId: k.id, name: k.name, role: k.role } : null;
  }

  async introspect(key: string): Promise<IntrospectResponse> {
    const p = await this.authenticate(key);
    return p ? { active: true, name: p.name, role: p.role, keyId: p.keyId } : { active: false };
  }

  async create(input: { name: string; role: Role }, actor: string): Promise<ApiKeyInfo & { key: string }> {
    const key = generateKey();
    const record = await withTransaction(this.deps.pool, async (tx) => {
      const k = await this.deps.store.insert(tx, { ...input, keyHash: hashKey(key), prefix: key.slice(0, 10), createdBy: actor });
      if (!k) throw new ConflictError(`an active API key named "${input.name}" already exists`, { name: input.name }, 'api_key_exists');
      await this.deps.audit.append(tx, { modelId: null, modelName: null, actor, action: 'api_key.created', after: { id: k.id, name: k.name, role: k.role } });
      return k;
    });
    const { active: _active, ...info } = record;
    return { ...info, key };
  }

  async list(): Promise<ApiKeyInfo[]> {
    return (await this.deps.store.list(this.deps.pool)).map(({ active: _a, ...info }) => info);
  }

  /**
   * Revokes a key. Idempotent: revoking a revoked key answers it as it is (200, same revokedAt)
   * and writes no second event. The last active admin key cannot be revoked (409 last_admin):
   * without one nobody could create keys again. After the commit the revocation is published on
   * `contender:api-key-revocations` so serving drops the key at once.
   */
  async revoke(id: number, actor: string): Promise<ApiKeyInfo> {
    const { key, revoked } = await withTransaction(this.deps.pool, async (tx) => {
      // Admins first, then the key: every revocation takes the locks in this order.
      const admins = await this.deps.store.lockActiveAdmins(tx);
      const k = await this.deps.store.lock(tx, id);
      if (!k) throw new NotFoundError(`no API key with id ${id}`, 'api_key_not_found');
      if (!k.active) return { key: k, revoked: null };
      if (k.role === 'admin' && admins.length === 1 && admins[0] === id) {
        throw new ConflictError(
          `key ${id} ("${k.name}") is the last active admin key; create another admin key before revoking it, or nobody could manage keys again`,
          { id },
          'last_admin',
        );
      }
      const r = await this.deps.store.revoke(tx, id);
      await this.deps.audit.append(tx, { modelId: null, modelName: null, actor, action: 'api_key.revoked', before: { id: k.id, name: k.name, role: k.role, revokedAt: null }, after: { id: r.id, name: r.name, role: r.role, revokedAt: r.revokedAt } });
      return { key: r, revoked: { keyId: r.id, keyHash: k.keyHash } };
    });
    if (revoked) await this.deps.revocations?.publish(revoked);
    const { active: _a, keyHash: _h, ...info } = key as typeof key & { keyHash?: string };
    return info;
  }

  /**
   * Makes `key` the valid admin key named `bootstrap-admin` (BOOTSTRAP_ADMIN_KEY), so a fresh
   * installation can create its real keys. Idempotent across restarts and replicas. When the
   * configured key changes (rotated, or a local `.data` folder made anew), the previous bootstrap
   * key is revoked, audited, and the new one takes its place in the same transaction: whoever sets
   * the environment is trusted with admin already, and a stale bootstrap key must not stay valid.
   * A key that was revoked is never brought back.
   */
  async ensureBootstrapAdmin(key: string): Promise<{ rotated: boolean }> {
    const keyHash = hashKey(key);
    const { rotated, revoked } = await withTransaction(this.deps.pool, async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('registry.bootstrap-admin'))`);
      if (await this.deps.store.findByHash(tx, keyHash)) return { rotated: false, revoked: null };
      const previous = await this.deps.store.findActiveByName(tx, BOOTSTRAP_ADMIN_NAME);
      let revoked: { keyId: number; keyHash: string } | null = null;
      if (previous) {
        const locked = (await this.deps.store.lock(tx, previous.id))!;
        const r = await this.deps.store.revoke(tx, previous.id);
        await this.deps.audit.append(tx, {
          modelId: null,
          modelName: null,
          actor: 'system',
          action: 'api_key.revoked',
          before: { id: locked.id, name: locked.name, role: locked.role, revokedAt: null },
          after: { id: r.id, name: r.name, role: r.role, revokedAt: r.revokedAt },
          reason: 'BOOTSTRAP_ADMIN_KEY changed',
        });
        revoked = { keyId: locked.id, keyHash: locked.keyHash };
      }
      const k = await this.deps.store.insert(tx, { name: BOOTSTRAP_ADMIN_NAME, role: 'admin', keyHash, prefix: key.slice(0, 10), createdBy: 'system' });
      if (k) await this.deps.audit.append(tx, { modelId: null, modelName: null, actor: 'system', action: 'api_key.created', after: { id: k.id, name: k.name, role: k.role } });
      return { rotated: previous !== null, revoked };
    });
    // Serving drops the replaced key at once, as for any revocation.
    if (revoked) await this.deps.revocations?.publish(revoked);
    return { rotated };
  }
}

const BOOTSTRAP_ADMIN_NAME = 'bootstrap-admin';
