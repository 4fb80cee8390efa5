import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { quoteIdent, withDefaultUser } from '../db.js';

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export function testDatabaseAdminUrl(): string {
  return withDefaultUser(process.env.TEST_DATABASE_URL ?? 'postgres://127.0.0.1:5432/postgres');
}

/**
 * Creates an empty database of its own for one test file, so files can run in parallel without
 * seeing each other's rows. The caller runs its service's migrations on it.
 */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `t_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase().slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const admin = testDatabaseAdminUrl();
  await withAdmin(admin, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () =>
      withAdmin(admin, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`)).then(() => undefined),
  };
}

async function withAdmin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}
