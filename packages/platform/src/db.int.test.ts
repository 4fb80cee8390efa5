import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createPool, ensureDatabase, runMigrations, withTransaction, type Pool } from './db.js';
import { createTestDatabase, type TestDatabase } from './testing/db.js';

describe('migrations and transactions against Postgres', () => {
  let db: TestDatabase;
  let pool: Pool;
  let dir: string;

  before(async () => {
    db = await createTestDatabase('platform');
    pool = createPool(db.url, { max: 8 });
    dir = await mkdtemp(path.join(os.tmpdir(), 'migrations-'));
    await writeFile(path.join(dir, '0001_things.sql'), 'CREATE TABLE thing (id int PRIMARY KEY, name text);');
    await writeFile(path.join(dir, '0002_more.sql'), 'ALTER TABLE thing ADD COLUMN size int;');
    await writeFile(path.join(dir, 'README.md'), 'not a migration');
  });
  after(async () => {
    await pool.end();
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies each migration exactly once when several processes start at once', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => runMigrations(pool, { schema: 'demo', dir })));
    assert.deepEqual(results.map((r) => r.applied.length).sort(), [0, 0, 0, 0, 2]);
    const { rows } = await pool.query('SELECT version, name FROM demo.schema_migrations ORDER BY version');
    assert.deepEqual(rows, [
      { version: 1, name: '0001_things.sql' },
      { version: 2, name: '0002_more.sql' },
    ]);
    await pool.query('INSERT INTO demo.thing (id, name, size) VALUES (1, $1, 2)', ['a']);
  });

  it('refuses to run when an applied migration was edited', async () => {
    await writeFile(path.join(dir, '0001_things.sql'), 'CREATE TABLE thing (id bigint PRIMARY KEY);');
    await assert.rejects(runMigrations(pool, { schema: 'demo', dir }), /0001_things\.sql was changed after it was applied/);
  });

  it('rolls back everything a failed transaction wrote', async () => {
    await assert.rejects(
      withTransaction(pool, async (tx) => {
        await tx.query("INSERT INTO demo.thing (id, name) VALUES (2, 'b')");
        await tx.query("INSERT INTO demo.thing (id, name) VALUES (2, 'dup')");
      }),
      /duplicate key/,
    );
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM demo.thing WHERE id = 2');
    assert.equal(rows[0].n, 0);
  });

  it('creates a missing database and leaves an existing one alone', async () => {
    const name = `${db.name}_extra`;
    const url = new URL(db.url);
    url.pathname = `/${name}`;
    const admin = createPool(db.url, { max: 1 });
    const exists = async () => (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
    try {
      assert.equal(await exists(), false, 'missing before');
      await ensureDatabase(url.toString());
      assert.equal(await exists(), true, 'created');
      const extra = createPool(url.toString(), { max: 1 });
      try {
        await extra.query('CREATE TABLE kept (id int)');
        await extra.query('INSERT INTO kept VALUES (42)');
        await ensureDatabase(url.toString());
        const { rows } = await extra.query('SELECT id FROM kept');
        assert.deepEqual(rows, [{ id: 42 }], 'the existing database and what it holds are untouched');
      } finally {
        await extra.end();
      }
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS "${name}"`);
      await admin.end();
    }
  });
});
