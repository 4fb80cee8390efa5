import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JsonClient } from '../test/http-client.js';
import { TREECL2_FEATURES } from '../test/registry-fixtures.js';
import { startServingFixture, type ServingFixture } from '../testing/serving-fixture.js';
import { waitFor } from '../testing/wait-for.js';

/** Short, so the test sees a revocation take effect; the default (60 s) would outlast the deadline below. */
const AUTH_CACHE_TTL_MS = 500;
const features = Object.fromEntries(TREECL2_FEATURES.map((n, j) => [n, (j % 5) / 2 - 1]));

describe('API keys revoked in a running registry, and the registry gone', () => {
  let f: ServingFixture;
  let registryClosed = false;

  before(async () => {
    f = await startServingFixture({ label: 'serving_revocation', challenger: false, serving: { env: { AUTH_CACHE_TTL_MS: String(AUTH_CACHE_TTL_MS) } } });
  });
  after(async () => {
    if (registryClosed) f.reg.close = async () => {};
    await f?.close();
  });

  it('refuses a key with 401 once the registry has revoked it, within the cache ttl, and keeps accepting other keys', async () => {
    const revoked = await f.key('predictor');
    const other = await f.key('predictor');
    const a = new JsonClient(f.serving.url, revoked.key);
    const b = new JsonClient(f.serving.url, other.key);
    try {
      assert.equal((await a.post('/predict', { model: f.model, features })).status, 200, 'the key works (and is now cached)');
      assert.equal((await b.post('/predict', { model: f.model, features })).status, 200);
      await f.admin.call('DELETE', `/api-keys/${revoked.id}`);
      // A cached answer is used for the ttl and once more while it is refreshed, then the
      // registry's answer counts. The deadline is 40 ttls: generous for a busy machine, and far
      // short of the default ttl, so a cache that ignored its ttl fails here.
      const refused = await waitFor(
        async () => {
          const res = await a.post('/predict', { model: f.model, features });
          return res.status === 200 ? null : res;
        },
        { timeoutMs: AUTH_CACHE_TTL_MS * 40, what: 'serving to refuse the revoked key' },
      );
      assert.equal(refused.status, 401);
      assert.equal((refused.body.error as { code: string }).code, 'unauthorized');
      assert.match((refused.body.error as { message: string }).message, /revoked/);
      assert.equal((await a.post('/predict', { model: f.model, features })).status, 401, 'and stays refused');
      assert.equal((await b.post('/predict', { model: f.model, features })).status, 200, 'the other key still works');
    } finally {
      a.close();
      b.close();
    }
  });

  // That a cached key keeps working while the registry is away is shown with a fake clock in
  // introspection-auth.test.ts: here the short ttl could run out while the registry closes.
  it('answers 503 auth_unavailable for a key it has not seen while the registry is unreachable', async () => {
    const unseen = await f.key('predictor');
    const b = new JsonClient(f.serving.url, unseen.key);
    try {
      await f.reg.close();
      registryClosed = true;
      const res = await b.post('/predict', { model: f.model, features });
      assert.equal(res.status, 503);
      assert.equal((res.body.error as { code: string }).code, 'auth_unavailable');
      assert.match((res.body.error as { message: string }).message, /registry is unreachable/);
    } finally {
      b.close();
    }
  });
});
