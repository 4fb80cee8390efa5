import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '@contender/platform';
import { schedulerConfigSchema } from './config.js';

describe('scheduler config', () => {
  it('needs REGISTRY_API_KEY and defaults the rest', () => {
    assert.throws(() => loadConfig(schedulerConfigSchema, {}), /REGISTRY_API_KEY/);
    const c = loadConfig(schedulerConfigSchema, { REGISTRY_API_KEY: 'k' });
    assert.deepEqual([c.PORT, c.RUN_LEASE_MS, c.RUN_HEARTBEAT_MS, c.SERVING_URL], [8082, 60_000, 5_000, 'http://127.0.0.1:8080']);
  });

  it('refuses a heartbeat longer than half the lease', () => {
    assert.throws(() => loadConfig(schedulerConfigSchema, { REGISTRY_API_KEY: 'k', RUN_LEASE_MS: '1000', RUN_HEARTBEAT_MS: '600' }), /RUN_HEARTBEAT_MS/);
  });
});
