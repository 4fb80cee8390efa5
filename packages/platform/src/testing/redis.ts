import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRedis } from '../redis.js';

/**
 * Deletes the keys under `prefix` that a test or benchmark left in a Redis it shares with others.
 * Best effort: a Redis that is down or does not answer within `timeoutMs` (a test may have stopped
 * it on purpose) is left alone, and the call never throws.
 */
export async function deleteRedisKeys(url: string, prefix: string, timeoutMs = 2_000): Promise<void> {
  if (!prefix) throw new Error('deleteRedisKeys: an empty prefix would delete every key');
  const redis = createRedis(url, { connectTimeout: timeoutMs, retryStrategy: () => null });
  try {
    const connected = await Promise.race([
      once(redis, 'ready').then(() => true),
      once(redis, 'end').then(() => false),
      sleep(timeoutMs).then(() => false),
    ]);
    if (!connected) return;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } catch {
    // Leftover keys expire with their TTL; a failed clean-up must not fail the test.
  } finally {
    redis.disconnect();
  }
}
