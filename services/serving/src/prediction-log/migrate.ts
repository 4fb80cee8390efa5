import { fileURLToPath } from 'node:url';
import { runMigrations, type Logger, type Pool } from '@contender/platform';

/** services/serving/migrations, the same from src/ and from dist/. */
export const SERVING_MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

/** Brings the `serving` schema up to date; safe to run from several replicas at once. */
export async function migrateServing(pool: Pool, logger?: Logger): Promise<void> {
  await runMigrations(pool, { schema: 'serving', dir: SERVING_MIGRATIONS_DIR, ...(logger ? { logger } : {}) });
}
