import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '@contender/platform';
import { servingConfigSchema } from './config.js';

describe('serving config', () => {
  it('has the documented defaults', () => {
    const c = loadConfig(servingConfigSchema, { REGISTRY_API_KEY: 'k' });
    assert.equal(c.PORT, 8080);
    assert.equal(c.REGISTRY_URL, 'http://127.0.0.1:8081');
    assert.equal(c.SERVED_MODELS, null);
    assert.equal(c.RECONCILE_INTERVAL_MS, 15_000);
    assert.equal(c.FEATURE_TTL_SECONDS, 86_400);
    assert.equal(c.FEATURE_WRITE_DELAY_MS, 20);
    assert.equal(c.FEATURE_MAX_BYTES, 16_384);
    assert.equal(c.FEATURE_MAX_COUNT, 512);
    assert.equal(c.MAX_BATCH_ROWS, 10_000);
    assert.equal(c.SERVING_WORKERS, 1);
    assert.equal(c.REDIS_KEY_PREFIX, 'contender:');
    assert.equal(c.PREDICTION_RETENTION_DAYS, 30);
  });

  it('reads SERVED_MODELS as a comma-separated list', () => {
    assert.deepEqual(loadConfig(servingConfigSchema, { REGISTRY_API_KEY: 'k', SERVED_MODELS: ' credit, churn ,' }).SERVED_MODELS, ['credit', 'churn']);
    assert.equal(loadConfig(servingConfigSchema, { REGISTRY_API_KEY: 'k', SERVED_MODELS: ' ' }).SERVED_MODELS, null);
  });

  it('lists every bad key at once, and needs a registry key', () => {
    assert.throws(
      () => loadConfig(servingConfigSchema, { PORT: 'eighty', SERVING_WORKERS: '-1' }),
      (err: Error) => /PORT/.test(err.message) && /SERVING_WORKERS/.test(err.message) && /REGISTRY_API_KEY: required/.test(err.message),
    );
  });
});
