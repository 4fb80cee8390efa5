import { Redis, type RedisOptions } from 'ioredis';

export type { Redis };

/**
 * A Redis client for the request path: commands fail at once while disconnected
 * (`enableOfflineQueue: false`) instead of queueing behind a dead connection, and the client keeps
 * reconnecting in the background with capped backoff.
 */
export function createRedis(url: string, opts: RedisOptions = {}): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2_000),
    lazyConnect: false,
    ...opts,
  });
  // Without a listener, ioredis logs every failed reconnect attempt to stderr as unhandled.
  client.on('error', () => {});
  return client;
}

/** A subscriber connection: it must queue while reconnecting, so it re-subscribes on its own. */
export function createRedisSubscriber(url: string, opts: RedisOptions = {}): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2_000),
    ...opts,
  });
  client.on('error', () => {});
  return client;
}
