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

  it('gives up without throwing when Redis does not answer, instead of retrying for ever', async () => {
    // ioredis retries a refused connection for ever by default; a generous deadline (a hundred
    // times the 500 ms given) tells "gave up" from "still retrying" on any machine.
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      deleteRedisKeys(`redis://127.0.0.1:${await freePort()}`, 'whatever:', 500).then(() => 'returned'),
      new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still retrying'), 50_000))),
    ]);
    clearTimeout(timer);
    assert.equal(outcome, 'returned');
  });

  it('refuses an empty prefix, which would delete every key', async () => {
    await assert.rejects(deleteRedisKeys(REDIS_URL, ''), /empty prefix/);
  });
});
