import { baseConfigSchema, createLogger, loadConfig } from '@contender/platform';
import { migrateScheduler } from './container.js';

/** `npm run migrate`: applies the scheduler's migrations to DATABASE_URL and exits (pg-boss migrates its own schema when the scheduler starts). */
const config = loadConfig(baseConfigSchema);
await migrateScheduler(config.DATABASE_URL, createLogger('scheduler-migrate', config.LOG_LEVEL));
