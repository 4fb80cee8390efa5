import { randomUUID } from 'node:crypto';
import { createPool, type Pool } from '@contender/platform';
import { createTestDatabase, type TestDatabase } from '@contender/platform/testing';
import type { ReadOnlyDb } from '@contender/pipeline';
import { migrateServing } from '@contender/serving';

/** A database of its own with serving's published tables, created by serving's migrations. */
export interface ServingTables {
  database: TestDatabase;
  pool: Pool;
  /** what a step gets as ctx.db */
  db: ReadOnlyDb;
  close(): Promise<void>;
}

export async function createServingTables(label: string): Promise<ServingTables> {
  const database = await createTestDatabase(label);
  const pool = createPool(database.url, { max: 4 });
  await migrateServing(pool);
  return {
    database,
    pool,
    db: { query: async (sql, params) => ({ rows: (await pool.query(sql, params as unknown[])).rows }) },
    close: async () => {
      await pool.end();
      await database.drop();
    },
  };
}

export interface PredictionRow {
  id?: string;
  requestId?: string;
  at: Date;
  model: string;
  version: number;
  variant: 'champion' | 'challenger' | 'shadow';
  entityId?: string | null;
  features?: Record<string, number | string | null> | null;
  score: number;
  latencyMs?: number;
  fallback?: boolean;
  /** the outcome, written to serving.feedback when given */
  outcome?: number;
}

/** Inserts rows as serving would have logged them (and their feedback), 5,000 per statement. */
export async function insertPredictions(pool: Pool, rows: readonly PredictionRow[]): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < rows.length; start += 5000) {
    const chunk = rows.slice(start, start + 5000);
    const id = chunk.map((r) => r.id ?? randomUUID());
    ids.push(...id);
    await pool.query(
      `INSERT INTO serving.prediction (id, request_id, at, model, version, variant, entity_id, features, score, label, latency_ms, fallback)
       SELECT u.id, u.request_id, u.at, u.model, u.version, u.variant, u.entity_id, u.features, u.score, NULL, u.latency_ms, u.fallback
         FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[], $5::int[], $6::text[], $7::text[], $8::jsonb[], $9::float8[], $10::float8[], $11::bool[])
           AS u(id, request_id, at, model, version, variant, entity_id, features, score, latency_ms, fallback)`,
      [
        id,
        chunk.map((r, i) => r.requestId ?? id[i]),
        chunk.map((r) => r.at),
        chunk.map((r) => r.model),
        chunk.map((r) => r.version),
        chunk.map((r) => r.variant),
        chunk.map((r) => r.entityId ?? null),
        chunk.map((r) => (r.features === undefined || r.features === null ? null : JSON.stringify(r.features))),
        chunk.map((r) => r.score),
        chunk.map((r) => r.latencyMs ?? 5),
        chunk.map((r) => r.fallback ?? false),
      ],
    );
    const labelled = chunk.map((r, i) => ({ r, id: id[i]! })).filter((x) => x.r.outcome !== undefined);
    if (labelled.length > 0) {
      await pool.query(
        `INSERT INTO serving.feedback (prediction_id, prediction_at, label, at)
         SELECT u.id, u.at, u.label, u.at FROM unnest($1::uuid[], $2::timestamptz[], $3::float8[]) AS u(id, at, label)`,
        [labelled.map((x) => x.id), labelled.map((x) => x.r.at), labelled.map((x) => x.r.outcome!)],
      );
    }
  }
  return ids;
}
