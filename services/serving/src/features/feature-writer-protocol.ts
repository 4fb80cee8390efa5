/** What FeatureWriter and its worker thread share: the record format, counters and messages. */

/** What the worker thread is started with. */
export interface WriterData {
  ring: SharedArrayBuffer;
  /** Int32 words, indexed by COUNTER. */
  counters: SharedArrayBuffer;
  redisUrl: string;
  ttlSeconds: number;
  delayMs: number;
  commandTimeoutMs: number;
}

/** Words of the shared counters: entities written and failed (by the worker), flushes asked (by the request thread), close. */
export const COUNTER = { written: 0, failed: 1, flushes: 2, close: 3 } as const;
export const COUNTER_WORDS = 4;

/** Worker → request thread. */
export type FromWriter =
  | { type: 'failed'; count: number; message: string }
  /** Every write-through pushed before flush number `upTo` was asked has been answered by Redis. */
  | { type: 'flushed'; upTo: number };

/** Entities per script call at most. */
export const MAX_KEYS_PER_CALL = 512;

/** KEYS: the entries' keys; ARGV[1]: TTL in seconds; ARGV[2…]: the values, in the keys' order. */
export const SET_FEATURES_SCRIPT = `
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i + 1], 'EX', ARGV[1])
end
return #KEYS`;

/** One write-through as one ring record: the key's length in UTF-16 units, a colon, the key, the value. */
export function writeRecord(key: string, value: string): string {
  return recordPrefix(key) + value;
}

/** What every record of `key` starts with. */
export function recordPrefix(key: string): string {
  return `${key.length}:${key}`;
}

export function parseWriteRecord(text: string): { key: string; value: string } {
  const colon = text.indexOf(':');
  const end = colon + 1 + Number(text.slice(0, colon));
  return { key: text.slice(colon + 1, end), value: text.slice(end) };
}
