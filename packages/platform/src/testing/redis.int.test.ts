import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRedis } from '../redis.js';
import { freePort } from './net.js';
import { deleteRedisKeys } from './redis.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('deleteRedisKeys', () => {
  it('deletes every key under the prefix, taking glob characters in it literally, and nothing else', async () => {
    const base = `t-delete-${randomBytes(4).toString('hex')}`;
    const prefix = `${base}:a*`;
    const redis = createRedis(REDIS_URL, { enableOfflineQueue: true });
    try {
      const mine = Array.from({ length: 2_500 }, (_, i) => `${prefix}:${i}`);
      const others = [`${base}:ab:1`, `${base}:a:1`, `${base}:b*:1`];
      await redis.mset(...[...mine, ...others].flatMap((k) => [k, '1']));
      await deleteRedisKeys(REDIS_URL, prefix);
      assert.equal((await redis.exists(...mine)), 0, 'all 2,500 gone, over several SCAN pages');
      assert.equal(await redis.exists(...others), others.length, 'a glob character in the prefix is not a wildcard');
      await redis.unlink(...others);
    } finally {
      redis.disconnect();
    }
  });

  it('returns without throwing when Redis does not answer', async () => {
    const started = Date.now();
    await deleteRedisKeys(`redis://127.0.0.1:${await freePort()}`, 'whatever:', 500);
    assert.ok(Date.now() - started < 2_000, `took ${Date.now() - started} ms`);
  });

  it('refuses an empty prefix, which would delete every key', async () => {
    await assert.rejects(deleteRedisKeys(REDIS_URL, ''), /empty prefix/);
  });
});
