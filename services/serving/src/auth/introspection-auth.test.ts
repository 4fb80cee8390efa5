import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IntrospectResponse } from '@contender/contracts';
import { AppError, createLogger } from '@contender/platform';
import { IntrospectionAuth, type Principal } from './introspection-auth.js';

function setup(answers: Record<string, IntrospectResponse>, ttlMs = 1_000) {
  let now = 0;
  let calls = 0;
  let down = false;
  const auth = new IntrospectionAuth({
    introspect: async (key) => {
      calls++;
      if (down) throw new Error('connect ECONNREFUSED');
      return answers[key] ?? { active: false };
    },
    logger: createLogger('test', 'silent'),
    ttlMs,
    now: () => now,
    maxEntries: 3,
  });
  return {
    auth,
    calls: () => calls,
    advance: (ms: number) => (now += ms),
    setDown: (v: boolean) => (down = v),
  };
}

const active = (role: IntrospectResponse['role'], name = 'app'): IntrospectResponse => ({ active: true, role, name, keyId: 1 });

async function principalOf(p: Principal | Promise<Principal>): Promise<Principal> {
  return p instanceof Promise ? p : p;
}

async function status(fn: () => Principal | Promise<Principal>): Promise<[number, string]> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof AppError);
    return [err.status, err.code];
  }
  return [200, 'ok'];
}

describe('IntrospectionAuth', () => {
  it('asks the registry once per key and then answers from memory, synchronously', async () => {
    const t = setup({ k1: active('predictor') });
    const first = t.auth.authenticate('Bearer k1');
    assert.ok(first instanceof Promise);
    assert.equal((await first).role, 'predictor');
    const second = t.auth.authenticate('Bearer k1');
    assert.ok(!(second instanceof Promise), 'a cached key costs no promise');
    assert.equal(second.name, 'app');
    assert.equal(t.calls(), 1);
  });

  it('shares one registry call between concurrent requests with a new key', async () => {
    const t = setup({ k1: active('admin') });
    await Promise.all(Array.from({ length: 10 }, () => principalOf(t.auth.authenticate('Bearer k1'))));
    assert.equal(t.calls(), 1);
  });

  it('answers 401 for a missing, malformed or unknown key', async () => {
    const t = setup({});
    assert.deepEqual(await status(() => t.auth.authenticate(undefined)), [401, 'unauthorized']);
    assert.deepEqual(await status(() => t.auth.authenticate('Basic abc')), [401, 'unauthorized']);
    assert.deepEqual(await status(() => t.auth.authenticate('Bearer nope')), [401, 'unauthorized']);
  });

  it('refreshes an answer older than the TTL in the background and drops a revoked key after it', async () => {
    const answers: Record<string, IntrospectResponse> = { k1: active('predictor') };
    const t = setup(answers, 1_000);
    await principalOf(t.auth.authenticate('Bearer k1'));
    answers.k1 = { active: false };
    t.advance(1_500);
    // Stale: still accepted this once, while the refresh runs.
    assert.equal((await principalOf(t.auth.authenticate('Bearer k1'))).role, 'predictor');
    await new Promise((r) => setImmediate(r));
    assert.equal(t.calls(), 2);
    assert.deepEqual(await status(() => t.auth.authenticate('Bearer k1')), [401, 'unauthorized']);
  });

  it('keeps accepting known keys while the registry is down, up to four TTLs, then answers 503', async () => {
    const t = setup({ k1: active('predictor') }, 1_000);
    await principalOf(t.auth.authenticate('Bearer k1'));
    t.setDown(true);
    t.advance(3_000);
    assert.equal((await principalOf(t.auth.authenticate('Bearer k1'))).role, 'predictor');
    await new Promise((r) => setImmediate(r)); // the background refresh fails meanwhile
    t.advance(2_000);
    assert.deepEqual(await status(() => t.auth.authenticate('Bearer k1')), [503, 'auth_unavailable']);
    assert.deepEqual(await status(() => t.auth.authenticate('Bearer new-key')), [503, 'auth_unavailable']);
  });

  it('forgets unknown keys sooner than known ones, so a new key works within seconds', async () => {
    const answers: Record<string, IntrospectResponse> = {};
    const t = setup(answers, 60_000);
    assert.deepEqual(await status(() => t.auth.authenticate('Bearer fresh')), [401, 'unauthorized']);
    answers.fresh = active('predictor');
    t.advance(5_001);
    // Still the remembered answer, while it is asked again in the background.
    assert.deepEqual(await status(() => t.auth.authenticate('Bearer fresh')), [401, 'unauthorized']);
    await new Promise((r) => setImmediate(r));
    assert.equal((await principalOf(t.auth.authenticate('Bearer fresh'))).role, 'predictor');
  });

  it('remembers a bounded number of keys', async () => {
    const answers = Object.fromEntries(['a', 'b', 'c', 'd'].map((k) => [k, active('reader', k)]));
    const t = setup(answers);
    for (const k of ['a', 'b', 'c', 'd']) await principalOf(t.auth.authenticate(`Bearer ${k}`));
    assert.equal(t.calls(), 4);
    assert.ok(!(t.auth.authenticate('Bearer d') instanceof Promise));
    assert.ok(t.auth.authenticate('Bearer a') instanceof Promise, 'the oldest key was forgotten');
  });

  it('refuses a weaker role with 403 naming the role needed', () => {
    assert.throws(
      () => IntrospectionAuth.requireRole({ name: 'bob', role: 'reader', keyId: 3 }, 'predictor', 'POST /predict'),
      (err: unknown) =>
        err instanceof AppError &&
        err.status === 403 &&
        err.code === 'forbidden' &&
        /POST \/predict needs role predictor or above; key "bob" has role reader/.test(err.message),
    );
    IntrospectionAuth.requireRole({ name: 'ann', role: 'admin', keyId: 4 }, 'predictor', 'POST /predict');
  });
});
