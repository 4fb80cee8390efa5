import { readdir, readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from './logger.js';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** Something that runs SQL: the pool, or the one client of a transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

// int8 (bigint, count(*)) as a JS number: every id and count here stays far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
// numeric as a JS number: used for metrics and scores, which are doubles in code anyway.
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number(v));

/**
 * The URL with a user name filled in when it names none. libpq would use the OS account; node-postgres
 * reads $USER instead, which service managers and CI runners often leave unset.
 */
export function withDefaultUser(connectionString: string): string {
  const url = new URL(connectionString);
  if (!url.username) url.username = process.env.PGUSER ?? process.env.USER ?? os.userInfo().username;
  return url.toString();
}

export function createPool(connectionString: string, opts: { max?: number; applicationName?: string } = {}): Pool {
  const pool = new pg.Pool({
    connectionString: withDefaultUser(connectionString),
    max: opts.max ?? 10,
    application_name: opts.applicationName,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection (Postgres restart) emits 'error' on the pool; without a
  // listener that would crash the process. The next query gets a fresh connection.
  pool.on('error', () => {});
  return pool;
}

/**
 * Runs `fn` in one transaction on one client. Never call `pool.query` inside `fn`: that would run
 * on another connection, outside the transaction.
 */
export async function withTransaction<T>(pool: Pool, fn: (tx: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** Creates the database named in `connectionString` if it does not exist (local runs, tests). */
export async function ensureDatabase(connectionString: string): Promise<void> {
  const url = new URL(connectionString);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) throw new Error('DATABASE_URL names no database');
  const admin = new URL(withDefaultUser(connectionString));
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE ${quoteIdent(name)}`).catch((err: { code?: string }) => {
        // 42P04 duplicate_database: another process created it between our check and CREATE.
        if (err.code !== '42P04') throw err;
      });
    }
  } finally {
    await client.end();
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export interface MigrationResult {
  applied: string[];
  current: number;
}

/**
 * Applies `dir/NNNN_name.sql` files not yet recorded in `<schema>.schema_migrations`, in order,
 * in one transaction held under an advisory lock, so several replicas starting at once apply each
 * migration exactly once. Forward-only: an applied file whose content changed is refused rather
 * than silently diverging from what the database holds.
 */
export async function runMigrations(
  pool: Pool,
  opts: { schema: string; dir: string; logger?: Logger },
): Promise<MigrationResult> {
  const files = (await readdir(opts.dir)).filter((f) => /^\d{4}_[\w.-]+\.sql$/.test(f)).sort();
  const migrations = await Promise.all(
    files.map(async (file) => {
      const sql = await readFile(path.join(opts.dir, file), 'utf8');
      return { version: Number(file.slice(0, 4)), name: file, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
  const schema = quoteIdent(opts.schema);
  return withTransaction(pool, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`contender:migrations:${opts.schema}`]);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await tx.query<{ version: number; name: string; checksum: string }>(
      `SELECT version, name, checksum FROM ${schema}.schema_migrations ORDER BY version`,
    );
    const done = new Map(rows.map((r) => [r.version, r]));
    const applied: string[] = [];
    for (const m of migrations) {
      const prior = done.get(m.version);
      if (prior) {
        if (prior.checksum !== m.checksum) {
          throw new Error(`migration ${m.name} was changed after it was applied (as ${prior.name}); add a new migration instead`);
        }
        continue;
      }
      await tx.query(`SET LOCAL search_path TO ${schema}, public`);
      await tx.query(m.sql);
      await tx.query(`INSERT INTO ${schema}.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)`, [
        m.version,
        m.name,
        m.checksum,
      ]);
      applied.push(m.name);
      opts.logger?.info({ migration: m.name, schema: opts.schema }, 'migration applied');
    }
    const current = migrations.length ? migrations[migrations.length - 1]!.version : 0;
    return { applied, current };
  });
}
