import type { Queryable } from '@contender/platform';

export interface StoredAnswer {
  apiKeyId: number;
  key: string;
  method: string;
  path: string;
  fingerprint: string;
  status: number;
  response: unknown;
  createdAt: Date;
  expiresAt: Date;
}

/** Another transaction recorded an answer under the same (API key, Idempotency-Key) first. */
export class IdempotencyKeyTakenError extends Error {
  constructor() {
    super('an answer for this Idempotency-Key was recorded by a concurrent request');
    this.name = 'IdempotencyKeyTakenError';
  }
}

/* eslint-disable @typescript-eslint/no-explicit-any */
const toAnswer = (r: any): StoredAnswer => ({
  apiKeyId: Number(r.api_key_id),
  key: r.key,
  method: r.method,
  path: r.path,
  fingerprint: r.fingerprint,
  status: r.status,
  response: r.response,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
});
/* eslint-enable @typescript-eslint/no-explicit-any */

/** All SQL of registry.idempotency_key. */
export class PgIdempotencyStore {
  /** The live answer under this key, if any (an expired one counts as none). */
  async find(db: Queryable, apiKeyId: number, key: string): Promise<StoredAnswer | null> {
    const { rows } = await db.query(
      `SELECT api_key_id, key, method, path, fingerprint, status, response, created_at, expires_at
         FROM registry.idempotency_key WHERE api_key_id = $1 AND key = $2 AND expires_at > now()`,
      [apiKeyId, key],
    );
    return rows[0] ? toAnswer(rows[0]) : null;
  }

  /**
   * Records the answer in the caller's transaction (the one that made the change it answers for).
   * An expired row under the same key is replaced; a live one means a concurrent request with this
   * key committed first (this INSERT waited for it): IdempotencyKeyTakenError.
   */
  async insert(tx: Queryable, a: Omit<StoredAnswer, 'createdAt' | 'expiresAt'> & { ttlMs: number }): Promise<void> {
    const { rowCount } = await tx.query(
      `INSERT INTO registry.idempotency_key (api_key_id, key, method, path, fingerprint, status, response, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, now() + $8 * interval '1 millisecond')
       ON CONFLICT (api_key_id, key) DO UPDATE
         SET method = EXCLUDED.method, path = EXCLUDED.path, fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status,
             response = EXCLUDED.response, created_at = now(), expires_at = EXCLUDED.expires_at
         WHERE registry.idempotency_key.expires_at <= now()`,
      [a.apiKeyId, a.key, a.method, a.path, a.fingerprint, a.status, JSON.stringify(a.response), a.ttlMs],
    );
    if (rowCount === 0) throw new IdempotencyKeyTakenError();
  }

  /** Deletes up to `limit` expired answers: called on each new keyed request, so the table stays bounded without a timer. */
  async purgeExpired(db: Queryable, limit: number): Promise<number> {
    const { rowCount } = await db.query(
      `DELETE FROM registry.idempotency_key
        WHERE ctid = ANY (ARRAY (SELECT ctid FROM registry.idempotency_key WHERE expires_at <= now() LIMIT $1))`,
      [limit],
    );
    return rowCount ?? 0;
  }
}
