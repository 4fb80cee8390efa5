import { createLogger, loadConfig } from '@contender/platform';
import { registryConfigSchema } from './config.js';
import { migrateRegistry } from './container.js';

/** `npm run migrate`: applies the registry's migrations to DATABASE_URL and exits. */
const config = loadConfig(registryConfigSchema);
await migrateRegistry(config.DATABASE_URL, createLogger('registry-migrate', config.LOG_LEVEL));
