import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { IntrospectResponse } from '@contender/contracts';
import { AppError, createLogger } from '@contender/platform';
import { IntrospectionAuth, type Principal } from './introspection-auth.js';

/** A key of the platform's format (`ctk_` + at least 12 base64url characters). */
const key = (name: string) => `ctk_${name.padEnd(12, '0')}`;
const randomKey = () => `ctk_${randomBytes(32).toString('base64url')}`;
const sha256 = (k: string) => createHash('sha256').update(k, 'utf8').digest('hex');

function setup(answers: Record<string, IntrospectResponse>, ttlMs = 1_000, opts: { maxEntries?: number; maxUnknownEntries?: number } = {}) {
  let now = 0;
  let down = false;
  const asked: string[] = [];
  const auth = new IntrospectionAuth({
    introspect: async (k) => {
      asked.push(k);
      if (down) throw new Error('connect ECONNREFUSED');
      return answers[k] ?? { active: false };
    },
    logger: createLogger('test', 'silent'),
    ttlMs,
    now: () => now,
    maxEntries: opts.maxEntries ?? 3,
    ...(opts.maxUnknownEntries === undefined ? {} : { maxUnknownEntries: opts.maxUnknownEntries }),
  });
  return {
    auth,
    asked,
    calls: () => asked.length,
    advance: (ms: number) => (now += ms),
    setDown: (v: boolean) => (down = v),
  };
}

const active = (role: IntrospectResponse['role'], name = 'app', keyId = 1): IntrospectResponse => ({ active: true, role, name, keyId });

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
    const t = setup({ [key('k1')]: active('predictor') });
    const first = t.auth.authenticate(`Bearer ${key('k1')}`);
    assert.ok(first instanceof Promise);
    assert.equal((await first).role, 'predictor');
    const second = t.auth.authenticate(`Bearer ${key('k1')}`);
    assert.ok(!(second instanceof Promise), 'a cached key costs no promise');
    assert.equal(second.name, 'app');
    assert.equal(t.calls(), 1);
  });

  it('shares one registry call between concurrent requests with a new key', async () => {
    const t = setup({ [key('k1')]: active('admin') });
    await Promise.all(Array.from({ length: 10 }, () => principalOf(t.auth.authenticate(`Bearer ${key('k1')}`))));
    assert.equal(t.calls(), 1);
  });

  it('answers 401 for a missing, malformed or unknown key', async () => {
    const t = setup({});
    assert.deepEqual(await status(() => t.auth.authenticate(undefined)), [401, 'unauthorized']);
    assert.deepEqual(await status(() => t.auth.authenticate('Basic abc')), [401, 'unauthorized']);
    assert.deepEqual(await status(() => t.auth.authenticate(`Bearer ${key('nope')}`)), [401, 'unauthorized']);
  });

  it('refuses a key not of the platform\'s format with 401 without asking the registry', async () => {
    const t = setup({});
    for (const k of ['nope', 'ctk_short', 'sk_live_abcdefghijklmnopqrstuvwxyz', `ctk_${'a'.repeat(20)}!`, `ctk_${'a'.repeat(257)}`, 'ctk_abc def ghi jkl mno']) {
      assert.throws(() => t.auth.authenticate(`Bearer ${k}`), (err: unknown) => {
        assert.ok(err instanceof AppError);
        assert.equal(err.status, 401);
        assert.match(err.message, /malformed API key: platform keys are "ctk_" followed by 12–256 letters, digits/);
        return true;
      }, k);
    }
    assert.equal(t.calls(), 0);
  });

  it('refreshes an answer older than the TTL in the background and drops a revoked key after it', async () => {
    const answers: Record<string, IntrospectResponse> = { [key('k1')]: active('predictor') };
    const t = setup(answers, 1_000);
    await principalOf(t.auth.authenticate(`Bearer ${key('k1')}`));
    answers[key('k1')] = { active: false };
    t.advance(1_500);
    // Stale: still accepted this once, while the refresh runs.
    assert.equal((await principalOf(t.auth.authenticate(`Bearer ${key('k1')}`))).role, 'predictor');
    await new Promise((r) => setImmediate(r));
    assert.equal(t.calls(), 2);
    assert.deepEqual(await status(() => t.auth.authenticate(`Bearer ${key('k1')}`)), [401, 'unauthorized']);
  });

  it('keeps accepting known keys while the registry is down, up to four TTLs, then answers 503', async () => {
    const t = setup({ [key('k1')]: active('predictor') }, 1_000);
    await principalOf(t.auth.authenticate(`Bearer ${key('k1')}`));
    t.setDown(true);
    t.advance(3_000);
    assert.equal((await principalOf(t.auth.authenticate(`Bearer ${key('k1')}`))).role, 'predictor');
    await new Promise((r) => setImmediate(r)); // the background refresh fails meanwhile
    t.advance(2_000);
    assert.deepEqual(await status(() => t.auth.authenticate(`Bearer ${key('k1')}`)), [503, 'auth_unavailable']);
    assert.deepEqual(await status(() => t.auth.authenticate(`Bearer ${key('new-key')}`)), [503, 'auth_unavailable']);
  });

  it('forgets unknown keys sooner than known ones, so a new key works within seconds', async () => {
    const answers: Record<string, IntrospectResponse> = {};
    const t = setup(answers, 60_000);
    assert.deepEqual(await status(() => t.auth.authenticate(`Bearer ${key('fresh')}`)), [401, 'unauthorized']);
    answers[key('fresh')] = active('predictor');
    t.advance(5_001);
    // Still the remembered answer, while it is asked again in the background.
    assert.deepEqual(await status(() => t.auth.authenticate(`Bearer ${key('fresh')}`)), [401, 'unauthorized']);
    await new Promise((r) => setImmediate(r));
    assert.equal((await principalOf(t.auth.authenticate(`Bearer ${key('fresh')}`))).role, 'predictor');
  });

  it('remembers a bounded number of keys', async () => {
    const names = ['a', 'b', 'c', 'd'].map(key);
    const answers = Object.fromEntries(names.map((k) => [k, active('reader', k)]));
    const t = setup(answers);
    for (const k of names) await principalOf(t.auth.authenticate(`Bearer ${k}`));
    assert.equal(t.calls(), 4);
    assert.ok(!(t.auth.authenticate(`Bearer ${names[3]}`) instanceof Promise));
    assert.ok(t.auth.authenticate(`Bearer ${names[0]}`) instanceof Promise, 'the oldest key was forgotten');
  });

  it('lets 10,100 random well-formed keys neither push a valid key out nor cost more than one call per key within the negative TTL', async () => {
    const valid = randomKey();
    // Room for three active keys (as above) and for every random key among the unknown ones.
    const t = setup({ [valid]: active('predictor') }, 60_000, { maxUnknownEntries: 20_000 });
    await principalOf(t.auth.authenticate(`Bearer ${valid}`));
    const guesses = Array.from({ length: 10_100 }, randomKey);
    for (const g of guesses) assert.deepEqual(await status(() => t.auth.authenticate(`Bearer ${g}`)), [401, 'unauthorized']);
    assert.equal(t.calls(), 1 + 10_100);
    // The valid key is still answered from memory, synchronously, with no call.
    const cached = t.auth.authenticate(`Bearer ${valid}`);
    assert.ok(!(cached instanceof Promise), 'the valid key was pushed out of the cache');
    assert.equal(cached.role, 'predictor');
    // Every guess again, within the negative TTL (5 s): answered from memory.
    t.advance(4_000);
    for (const g of guesses) assert.deepEqual(await status(() => t.auth.authenticate(`Bearer ${g}`)), [401, 'unauthorized']);
    assert.equal(t.calls(), 1 + 10_100);
    assert.equal(new Set(t.asked).size, t.asked.length, 'no key was asked twice');
  });

  it('bounds the unknown keys apart from the active ones: a flood larger than that bound still leaves the valid key cached', async () => {
    const valid = randomKey();
    const t = setup({ [valid]: active('predictor') }, 60_000, { maxEntries: 3, maxUnknownEntries: 100 });
    await principalOf(t.auth.authenticate(`Bearer ${valid}`));
    const guesses = Array.from({ length: 10_100 }, randomKey);
    for (const g of guesses) await status(() => t.auth.authenticate(`Bearer ${g}`));
    const cached = t.auth.authenticate(`Bearer ${valid}`);
    assert.ok(!(cached instanceof Promise), 'the valid key was pushed out of the cache');
    const before = t.calls();
    // The newest 100 guesses are remembered; the first was forgotten (bounded memory).
    for (const g of guesses.slice(-100)) await status(() => t.auth.authenticate(`Bearer ${g}`));
    assert.equal(t.calls(), before);
    await status(() => t.auth.authenticate(`Bearer ${guesses[0]}`));
    assert.equal(t.calls(), before + 1);
  });

  it('refuses a key at once when its revocation arrives, without asking the registry, and leaves other keys alone', async () => {
    const [revoked, other] = [randomKey(), randomKey()];
    const t = setup({ [revoked]: active('predictor', 'doomed', 7), [other]: active('predictor', 'other', 8) }, 60_000);
    await principalOf(t.auth.authenticate(`Bearer ${revoked}`));
    await principalOf(t.auth.authenticate(`Bearer ${other}`));
    assert.equal(t.auth.revoke(sha256(revoked)), true);
    assert.equal(t.auth.revoke(sha256(randomKey())), false, 'a key never seen: nothing to drop');
    assert.throws(() => t.auth.authenticate(`Bearer ${revoked}`), (err: unknown) => err instanceof AppError && err.status === 401);
    assert.ok(!(t.auth.authenticate(`Bearer ${other}`) instanceof Promise), 'another key stays cached');
    assert.equal(t.calls(), 2);
  });

  it('discards an introspection answer that was on its way when the key\'s revocation arrived', async () => {
    const k = randomKey();
    let release!: (r: IntrospectResponse) => void;
    const auth = new IntrospectionAuth({
      introspect: () => new Promise<IntrospectResponse>((resolve) => (release = resolve)),
      logger: createLogger('test', 'silent'),
      ttlMs: 60_000,
    });
    const answer = auth.authenticate(`Bearer ${k}`);
    assert.ok(answer instanceof Promise);
    auth.revoke(sha256(k));
    release(active('predictor')); // read before the revocation was committed
    await assert.rejects(answer, (err: unknown) => err instanceof AppError && err.status === 401);
    assert.throws(() => auth.authenticate(`Bearer ${k}`), (err: unknown) => err instanceof AppError && err.status === 401);
  });

  it('checks every cached key again on its next use after expireAll (revocations may have been missed)', async () => {
    const answers: Record<string, IntrospectResponse> = { [key('k1')]: active('predictor') };
    const t = setup(answers, 60_000);
    await principalOf(t.auth.authenticate(`Bearer ${key('k1')}`));
    answers[key('k1')] = { active: false };
    t.auth.expireAll();
    // Still usable this once (the registry may be down), while it is asked again.
    assert.equal((await principalOf(t.auth.authenticate(`Bearer ${key('k1')}`))).role, 'predictor');
    await new Promise((r) => setImmediate(r));
    assert.equal(t.calls(), 2);
    assert.deepEqual(await status(() => t.auth.authenticate(`Bearer ${key('k1')}`)), [401, 'unauthorized']);
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
