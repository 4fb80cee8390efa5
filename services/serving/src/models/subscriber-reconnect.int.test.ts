import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startRedisServer, type TestRedisServer } from '@contender/platform/testing';
import { startServingFixture, type ServingFixture } from '../testing/serving-fixture.js';
import { waitFor } from '../testing/wait-for.js';

/** Far beyond this file's length: no reconciliation tick happens while it runs. */
const TIMER_NEVER_FIRES_MS = 600_000;

describe('re-reconciling after the Redis subscriber reconnects', () => {
  let redis: TestRedisServer;
  let f: ServingFixture;

  before(async () => {
    redis = await startRedisServer();
    // Serving on a Redis of its own, the registry on the shared one: no registry event ever
    // reaches serving, and the timer cannot fire, so the reconnect is the only path left.
    f = await startServingFixture({
      label: 'serving_resubscribe',
      challengerPercent: 10,
      serving: { redisUrl: redis.url, env: { RECONCILE_INTERVAL_MS: String(TIMER_NEVER_FIRES_MS) } },
    });
  });
  after(async () => {
    await f?.close();
    await redis?.stop();
  });

  it('brings a registry change made while its subscriber was down once the subscriber is back', async () => {
    const models = f.serving.container.models;
    assert.equal(models.get(f.model)?.challengerPercent, 10);
    await redis.stop();
    await f.admin.setTraffic(f.model, 70);
    // Nothing can have brought the change yet (no event reaches this instance, no tick).
    assert.equal(models.get(f.model)?.challengerPercent, 10, 'not applied while the subscriber is down');

    await redis.start();
    await waitFor(() => models.get(f.model)?.challengerPercent === 70, { timeoutMs: 60_000, what: 'the change after the reconnect' });
    const res = await f.client.get<{ checks: Record<string, { ok: boolean }> }>('/readyz');
    assert.equal(res.status, 200);
  });
});
