import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, createMetricsRegistry, createRedis, type Redis } from '@contender/platform';
import { ServingMetrics } from '../metrics/serving-metrics.js';
import { startRedisServer, type TestRedisServer } from '../test/redis-server.js';
import { RedisFeatureCache } from './redis-feature-cache.js';

const logger = createLogger('serving', 'silent');
const prefix = 'test:';

describe('the Redis feature cache', () => {
  // A Redis of this file's own: its command statistics then count this file's script calls only.
  let server: TestRedisServer;
  let redis: Redis;

  before(async () => {
    server = await startRedisServer();
    redis = createRedis(server.url, { enableAutoPipelining: true });
    if (redis.status !== 'ready') await once(redis, 'ready'); // commands fail at once until connected
  });
  const caches: RedisFeatureCache[] = [];
  after(async () => {
    await Promise.all(caches.map((c) => c.close()));
    redis.disconnect();
    await server.stop();
  });

  /** How many EVAL and EVALSHA commands the server has run (write-throughs are one script call each). */
  const scriptCalls = async () => {
    const stats = await redis.info('commandstats');
    let calls = 0;
    for (const m of stats.matchAll(/^cmdstat_(?:eval|evalsha):calls=(\d+)/gm)) calls += Number(m[1]);
    return calls;
  };
  const cache = (writeDelayMs?: number) => {
    const c = new RedisFeatureCache({
      redis,
      redisUrl: server.url,
      keyPrefix: prefix,
      ttlSeconds: 60,
      metrics: new ServingMetrics(createMetricsRegistry('serving', { defaultMetrics: false })),
      logger,
      ...(writeDelayMs === undefined ? {} : { writeDelayMs }),
    });
    caches.push(c);
    return c;
  };
  const stored = async (entityId: string) => {
    const raw = await redis.get(`${prefix}features:${entityId}`);
    return raw === null ? null : (JSON.parse(raw) as { updatedAt: number; features: Record<string, unknown> });
  };

  it('sends the write-throughs of a few milliseconds as one script call, and reads them from memory meanwhile', async () => {
    // A long window, so that a slow machine cannot split the ten writes across two calls.
    const c = cache(300);
    const before = await scriptCalls();
    for (let i = 0; i < 10; i++) {
      c.write(`a-${i}`, { x: i });
      await new Promise((resolve) => setImmediate(resolve)); // each write in an event-loop turn of its own
    }
    assert.equal(await stored('a-3'), null, 'not sent yet');
    assert.deepEqual((await c.read('a-3'))?.features, { x: 3 }, 'this replica sees its own write at once');
    const deadline = Date.now() + 5_000;
    while ((await stored('a-9')) === null && Date.now() < deadline) await sleep(20);
    for (let i = 0; i < 10; i++) assert.deepEqual((await stored(`a-${i}`))?.features, { x: i });
    assert.equal((await scriptCalls()) - before, 1, 'ten writes, one command');
  });

  it('keeps the last of several waiting writes of one entity', async () => {
    const c = cache(10);
    c.write('b', { x: 1 });
    c.write('b', { x: 2 });
    await c.flushPendingWrites();
    assert.deepEqual((await stored('b'))?.features, { x: 2 });
  });

  it('never lets a waiting write-through land after a newer PUT of the same entity', async () => {
    const c = cache(30);
    c.write('c', { x: 'old' });
    await c.put('c', { x: 'new' });
    // Await the write-through itself (resolves once Redis has answered it), not a guess at its delay.
    await c.flushPendingWrites();
    assert.deepEqual((await stored('c'))?.features, { x: 'new' });
  });

  it("hands back the features' JSON as stored, so a prediction need not serialise them again", async () => {
    const c = cache(0);
    const features = { a: 1.5, b: 'x"y', c: null };
    c.write('d', features, JSON.stringify(features));
    await c.flushPendingWrites();
    const fresh = cache(0);
    const read = await fresh.read('d');
    assert.deepEqual(read?.features, features);
    assert.equal(read?.json, JSON.stringify(features));
    // A value some other writer stored with other keys is still read, without the shortcut.
    await redis.set(`${prefix}features:e`, JSON.stringify({ updatedAt: 1, features, source: 'elsewhere' }));
    const other = await fresh.read('e');
    assert.deepEqual(other?.features, features);
    assert.equal(other?.json, undefined);
  });
});
