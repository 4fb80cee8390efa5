import pg from 'pg';
import type { Role } from '@contender/contracts';
import { createTestDatabase, type TestDatabase } from '@contender/platform/testing';
import { startTestRegistry, type TestRegistry, type TestRegistryOptions } from '@contender/registry/testing';
import { startTestServing, type TestServing, type TestServingOptions } from '../testing.js';
import { JsonClient } from '../test/http-client.js';
import { RegistryAdmin, TREECL2, TREECL2_FEATURES, fixture } from '../test/registry-fixtures.js';

export interface ServingFixtureOptions {
  /** Label of the test database (letters, digits, underscores). */
  label: string;
  /** The model deployed: TREECL2 versions 1 (champion) and 2 (challenger, unless `challenger: false`). */
  model?: string;
  challenger?: boolean;
  /** The challenger's share in percent and the mode. Default 50, split. */
  challengerPercent?: number;
  mode?: 'split' | 'shadow';
  registry?: TestRegistryOptions;
  serving?: Partial<Omit<TestServingOptions, 'registryUrl' | 'apiKey' | 'databaseUrl'>>;
}

export interface ServingFixture {
  db: TestDatabase;
  reg: TestRegistry;
  admin: RegistryAdmin;
  serving: TestServing;
  /** A keep-alive client of serving with a predictor key. */
  client: JsonClient;
  /** A pool on serving's database, for reading what it logged. */
  pool: pg.Pool;
  model: string;
  /** A fresh key of `role`, with its id (for revoking it). */
  key(role: Role): Promise<{ id: number; key: string }>;
  /** Closes everything it started, in reverse order; safe after parts were closed by the test. */
  close(): Promise<void>;
}

/**
 * The chain most serving integration tests need: a test database, a real registry, a model with a
 * champion and a challenger (sklearn-onnx's tree classifier), the real serving following it, a
 * client and a pool on serving's database.
 */
export async function startServingFixture(opts: ServingFixtureOptions): Promise<ServingFixture> {
  const model = opts.model ?? 'credit';
  const db = await createTestDatabase(opts.label);
  const reg = await startTestRegistry(opts.registry);
  const admin = new RegistryAdmin(reg.url, reg.adminKey);
  const closers: (() => Promise<unknown>)[] = [() => db.drop(), () => reg.close()];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => {});
  };
  try {
    await admin.createModel(model);
    const v1 = await admin.registerVersion(model, fixture(TREECL2), { featureNames: TREECL2_FEATURES });
    await admin.setAlias(model, 'champion', v1);
    if (opts.challenger ?? true) {
      const v2 = await admin.registerVersion(model, fixture(TREECL2), { featureNames: TREECL2_FEATURES, metrics: { auc: 0.81 } });
      await admin.setAlias(model, 'challenger', v2);
      await admin.setTraffic(model, opts.challengerPercent ?? 50, opts.mode ?? 'split');
    }
    const serving = await startTestServing({
      registryUrl: reg.url,
      apiKey: await reg.createKey('predictor'),
      databaseUrl: db.url,
      ...opts.serving,
    });
    closers.push(() => serving.close());
    const client = new JsonClient(serving.url, await reg.createKey('predictor'));
    closers.push(async () => client.close());
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    closers.push(() => pool.end());
    const key = async (role: Role) => admin.call<{ id: number; key: string }>('POST', '/api-keys', { name: `${role}-${Math.random().toString(36).slice(2, 10)}`, role });
    return { db, reg, admin, serving, client, pool, model, key, close };
  } catch (err) {
    await close();
    throw err;
  }
}
