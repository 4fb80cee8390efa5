import type { ApiKeyInfo, Role } from '@contender/contracts';
import type { Queryable } from '@contender/platform';

export interface ApiKeyRecord extends ApiKeyInfo {
  active: boolean;
}

/* eslint-disable-next-line @typescript-eslint/no-explicit-any */
const toKey = (r: any): ApiKeyRecord => ({
  id: r.id,
  name: r.name,
  role: r.role,
  prefix: r.prefix,
  createdAt: r.created_at.toISOString(),
  createdBy: r.created_by,
  revokedAt: r.revoked_at ? r.revoked_at.toISOString() : null,
  active: r.revoked_at === null,
});

const COLS = 'id, name, role, prefix, created_at, created_by, revoked_at';

export class PgApiKeyStore {
  async insert(db: Queryable, k: { name: string; role: Role; keyHash: string; prefix: string; createdBy: string }): Promise<ApiKeyRecord | null> {
    const { rows } = await db.query(
      `INSERT INTO registry.api_key (name, role, key_hash, prefix, created_by) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT DO NOTHING RETURNING ${COLS}`,
      [k.name, k.role, k.keyHash, k.prefix, k.createdBy],
    );
    return rows[0] ? toKey(rows[0]) : null;
  }

  async findActiveByHash(db: Queryable, keyHash: string): Promise<ApiKeyRecord | null> {
    const { rows } = await db.query(`SELECT ${COLS} FROM registry.api_key WHERE key_hash = $1 AND revoked_at IS NULL`, [keyHash]);
    return rows[0] ? toKey(rows[0]) : null;
  }

  async findActiveByName(db: Queryable, name: string): Promise<ApiKeyRecord | null> {
    const { rows } = await db.query(`SELECT ${COLS} FROM registry.api_key WHERE name = $1 AND revoked_at IS NULL`, [name]);
    return rows[0] ? toKey(rows[0]) : null;
  }

  async findByHash(db: Queryable, keyHash: string): Promise<ApiKeyRecord | null> {
    const { rows } = await db.query(`SELECT ${COLS} FROM registry.api_key WHERE key_hash = $1`, [keyHash]);
    return rows[0] ? toKey(rows[0]) : null;
  }

  async list(db: Queryable): Promise<ApiKeyRecord[]> {
    const { rows } = await db.query(`SELECT ${COLS} FROM registry.api_key ORDER BY id`);
    return rows.map(toKey);
  }

  /** The key, locked for the rest of the transaction. */
  async lock(db: Queryable, id: number): Promise<(ApiKeyRecord & { keyHash: string }) | null> {
    const { rows } = await db.query(`SELECT ${COLS}, key_hash FROM registry.api_key WHERE id = $1 FOR UPDATE`, [id]);
    return rows[0] ? { ...toKey(rows[0]), keyHash: rows[0].key_hash } : null;
  }

  /**
   * Ids of the active admin keys, locked: two revocations of the last two admins serialise here,
   * and the second sees the first's result.
   */
  async lockActiveAdmins(db: Queryable): Promise<number[]> {
    const { rows } = await db.query<{ id: string }>(`SELECT id FROM registry.api_key WHERE role = 'admin' AND revoked_at IS NULL ORDER BY id FOR UPDATE`);
    return rows.map((r) => Number(r.id));
  }

  async revoke(db: Queryable, id: number): Promise<ApiKeyRecord> {
    const { rows } = await db.query(`UPDATE registry.api_key SET revoked_at = now() WHERE id = $1 RETURNING ${COLS}`, [id]);
    return toKey(rows[0]);
  }
}
