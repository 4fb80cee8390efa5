/**
 * What serving's rate limit costs a request: RequestRateLimiter.consumeKey() calls per second
 * against a Redis (TEST_REDIS_URL, default the local one), one at a time and with 64 in flight
 * (auto-pipelined, as serving's request-path client is). Run: node services/serving/dist/bench/bench-rate-limit.js
 */
import { randomBytes } from 'node:crypto';
import { Registry } from 'prom-client';
import { createLogger, createRedis, RequestRateLimiter } from '@contender/platform';
import { deleteRedisKeys } from '@contender/platform/testing';

const N = Number(process.env.BENCH_CALLS ?? 20_000);
const url = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function main(): Promise<void> {
  const prefix = `bench-rl-${randomBytes(4).toString('hex')}:`;
  const redis = createRedis(url, { commandTimeout: 1_000, enableAutoPipelining: true });
  const limiter = new RequestRateLimiter({
    redis,
    keyPrefix: prefix,
    settings: { RATE_LIMIT_ENABLED: true, RATE_LIMITS: { predictor: 1e9 }, RATE_LIMIT_ANONYMOUS: 1e9, RATE_LIMIT_WINDOW_SECONDS: 1 },
    service: 'bench',
    metrics: new Registry(),
    logger: createLogger('bench', 'warn'),
  });
  try {
    if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
    for (let i = 0; i < 1_000; i++) await limiter.consumeKey('predictor', 1); // warm-up
    let t = performance.now();
    for (let i = 0; i < N; i++) await limiter.consumeKey('predictor', 1);
    const serialMs = performance.now() - t;
    t = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next++ < N) await limiter.consumeKey('predictor', 1);
      }),
    );
    const concurrentMs = performance.now() - t;
    const cpu = process.cpuUsage();
    console.log(`consume(), one at a time: ${(N / (serialMs / 1000)).toFixed(0)}/s, ${((serialMs * 1000) / N).toFixed(1)} µs each (round trip)`);
    console.log(`consume(), 64 in flight: ${(N / (concurrentMs / 1000)).toFixed(0)}/s, ${((concurrentMs * 1000) / N).toFixed(1)} µs each`);
    console.log(`this process's CPU over the whole run: ${((cpu.user + cpu.system) / (N * 2 + 1_000)).toFixed(1)} µs per call`);
  } finally {
    await deleteRedisKeys(url, prefix);
    redis.disconnect();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
