import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { createLogger, createRedis, type Redis } from '@contender/platform';
import { startRedisServer, type TestRedisServer } from '@contender/platform/testing';
import { FeatureWriter } from './feature-writer.js';

const logger = createLogger('serving', 'silent');

describe('FeatureWriter', () => {
  let server: TestRedisServer;
  let redis: Redis;

  before(async () => {
    server = await startRedisServer();
    redis = createRedis(server.url);
    if (redis.status !== 'ready') await once(redis, 'ready');
  });
  after(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('replaces a write-through thread that dies, and the replacement sends what was waiting', async () => {
    const failures: string[] = [];
    // 200 ms of gathering: the first write-throughs are still waiting when the thread dies.
    const writer = new FeatureWriter({ redisUrl: server.url, ttlSeconds: 60, delayMs: 200, logger, onFailure: (_, m) => failures.push(m) });
    try {
      const value = (i: number) => JSON.stringify({ updatedAt: i, features: { x: i } });
      for (let i = 0; i < 20; i++) assert.equal(writer.push(`restart:${i}`, value(i)), true);
      // The thread as it would die of a crash: terminated, its connection and what it held gone.
      const thread = (writer as unknown as { worker: Worker }).worker;
      await thread.terminate();
      for (let i = 20; i < 40; i++) assert.equal(writer.push(`restart:${i}`, value(i)), true);
      // Still readable while waiting for the replacement (read-your-writes from the ring).
      assert.equal(writer.waitingValue('restart:3'), value(3));

      // flush() waited for the replacement: every value is in Redis once it returns (order, not time).
      await writer.flush();
      assert.notEqual((writer as unknown as { worker: Worker }).worker, thread, 'a new thread');
      const stored = await redis.mget(Array.from({ length: 40 }, (_, i) => `restart:${i}`));
      assert.deepEqual(stored, Array.from({ length: 40 }, (_, i) => value(i)));
      assert.ok((await redis.ttl('restart:0')) > 0, 'with the TTL');
      assert.equal(writer.waitingValue('restart:3'), null, 'nothing waits once answered');
      assert.deepEqual(failures, []);
      assert.equal(writer.counts().failed, 0);
    } finally {
      await writer.close();
    }
  });

  it('drops and counts the write-throughs that find its ring full, and still sends the others', async () => {
    const failures: Array<{ count: number; message: string }> = [];
    // A ring of 1 KiB holds about ten of these; the thread gathers for 300 ms before it sends.
    const writer = new FeatureWriter({
      redisUrl: server.url,
      ttlSeconds: 60,
      delayMs: 300,
      ringBytes: 1_024,
      logger,
      onFailure: (count, message) => failures.push({ count, message }),
    });
    try {
      const value = (i: number) => JSON.stringify({ updatedAt: i, features: { x: i, pad: 'p'.repeat(60) } });
      const accepted: number[] = [];
      let refused = 0;
      for (let i = 0; i < 40; i++) {
        if (writer.push(`full:${i}`, value(i))) accepted.push(i);
        else refused++;
      }
      assert.ok(accepted.length > 0 && refused > 0, `${accepted.length} accepted, ${refused} refused`);
      await writer.flush();
      assert.deepEqual(failures, [{ count: refused, message: 'too many write-throughs waiting for Redis' }]);
      assert.deepEqual(writer.counts(), { written: accepted.length, failed: refused });
      assert.deepEqual(await redis.mget(accepted.map((i) => `full:${i}`)), accepted.map(value));
    } finally {
      await writer.close();
    }
  });
});
