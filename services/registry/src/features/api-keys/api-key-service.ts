import { createHash, randomBytes } from 'node:crypto';
import type { ApiKeyInfo, IntrospectResponse, Role } from '@contender/contracts';
import { ConflictError, NotFoundError, withTransaction, type Pool } from '@contender/platform';
import type { PgAuditStore } from '../audit/pg-audit-store.js';
import type { PgApiKeyStore } from './pg-api-key-store.js';

export interface Principal {
  keyId: number;
  name: string;
  role: Role;
}

export const hashKey = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex');

/** `ctk_` + 256 random bits, base64url: recognisable in logs and secret scanners, unguessable. */
export function generateKey(): string {
  return `ctk_${randomBytes(32).toString('base64url')}`;
}

export class ApiKeyService {
  constructor(
    private readonly deps: { pool: Pool; store: PgApiKeyStore; audit: PgAuditStore },
  ) {}

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

  async revoke(id: number, actor: string): Promise<ApiKeyInfo> {
    return withTransaction(this.deps.pool, async (tx) => {
      const k = await this.deps.store.revoke(tx, id);
      if (!k) throw new NotFoundError(`no API key with id ${id}`, 'api_key_not_found');
      await this.deps.audit.append(tx, { modelId: null, modelName: null, actor, action: 'api_key.revoked', after: { id: k.id, name: k.name, role: k.role } });
      const { active: _a, ...info } = k;
      return info;
    });
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
    return withTransaction(this.deps.pool, async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('registry.bootstrap-admin'))`);
      if (await this.deps.store.findByHash(tx, keyHash)) return { rotated: false };
      const previous = await this.deps.store.findActiveByName(tx, BOOTSTRAP_ADMIN_NAME);
      if (previous) {
        await this.deps.store.revoke(tx, previous.id);
        await this.deps.audit.append(tx, {
          modelId: null,
          modelName: null,
          actor: 'system',
          action: 'api_key.revoked',
          after: { id: previous.id, name: previous.name, role: previous.role },
          reason: 'BOOTSTRAP_ADMIN_KEY changed',
        });
      }
      await this.deps.store.insert(tx, { name: BOOTSTRAP_ADMIN_NAME, role: 'admin', keyHash, prefix: key.slice(0, 10), createdBy: 'system' });
      return { rotated: previous !== null };
    });
  }
}

const BOOTSTRAP_ADMIN_NAME = 'bootstrap-admin';
