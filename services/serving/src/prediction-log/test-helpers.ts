import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Registry } from 'prom-client';
import { createPool, type Pool } from '@contender/platform';
import { createTestDatabase, type TestDatabase } from '@contender/platform/testing';
import { migrateServing } from './migrate.js';
import type { PgPredictionStore } from './pg-prediction-store.js';
import { toLogRow, type PredictionRecord } from './prediction-record.js';

/** A migrated database of the test file's own, a pool on it and a temporary spill folder. */
export async function setUpLogDatabase(label: string): Promise<{ db: TestDatabase; pool: Pool; tmp: () => Promise<string>; tearDown: () => Promise<void> }> {
  const db = await createTestDatabase(label);
  const pool = createPool(db.url, { max: 4 });
  await migrateServing(pool);
  const dirs: string[] = [];
  return {
    db,
    pool,
    tmp: async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'prediction-log-'));
      dirs.push(dir);
      return dir;
    },
    tearDown: async () => {
      await pool.end();
      await db.drop();
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    },
  };
}

export function makeRecord(overrides: Partial<PredictionRecord> = {}): PredictionRecord {
  return {
    id: randomUUID(),
    requestId: randomUUID(),
    at: new Date(),
    model: 'credit-default',
    version: 3,
    variant: 'champion',
    entityId: 'customer-1',
    features: { LIMIT_BAL: 20000, SEX: 'f', AGE: null },
    score: 0.42,
    label: 0,
    latencyMs: 1.5,
    fallback: false,
    ...overrides,
  };
}

export const makeRecords = (n: number, overrides: Partial<PredictionRecord> = {}): PredictionRecord[] =>
  Array.from({ length: n }, () => makeRecord(overrides));

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(check: () => Promise<T> | T, opts: { timeoutMs?: number; what?: string } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what ?? 'a condition'}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The value of an unlabelled counter or gauge. */
export async function metricValue(registry: Registry, name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  return (await metric.get()).values[0]?.value ?? 0;
}

/** How many rows each of `ids` has in serving.prediction (ids absent from the table are 0). */
export async function rowCounts(pool: Pool, ids: string[]): Promise<{ total: number; distinct: number; missing: number; duplicated: number }> {
  const { rows } = await pool.query<{ id: string; n: number }>(
    'SELECT id::text AS id, count(*)::int AS n FROM serving.prediction WHERE id = ANY($1::uuid[]) GROUP BY id',
    [ids],
  );
  const total = rows.reduce((s, r) => s + r.n, 0);
  return { total, distinct: rows.length, missing: ids.length - rows.length, duplicated: rows.filter((r) => r.n > 1).length };
}

/** Writes records the way the log does (COPY), for tests that need rows in the table first. */
export function insertRecords(store: PgPredictionStore, records: readonly PredictionRecord[]): Promise<number> {
  return store.copy(records.map(toLogRow));
}
