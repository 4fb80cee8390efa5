/**
 * The worker thread of FeatureWriter (see there): takes the write-throughs the request thread put
 * in the shared ring, waits `delayMs` so that a few milliseconds of them go together, and sends
 * them as one script call per up to MAX_KEYS_PER_CALL entities on a Redis connection of its own.
 * Counts what was written and what failed in the shared counters, and tells the request thread of
 * failures (it logs them) and of finished flushes.
 */
import { once } from 'node:events';
import { parentPort, workerData } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRedis, type Redis } from '@contender/platform/connections';
import { SharedRing } from '../offload/shared-ring.js';
import {
  COUNTER,
  MAX_KEYS_PER_CALL,
  SET_FEATURES_SCRIPT,
  parseWriteRecord,
  type FromWriter,
  type WriterData,
} from './feature-writer-protocol.js';

const data = workerData as WriterData;
const ring = SharedRing.attach(data.ring);
const counters = new Int32Array(data.counters);
const post = (m: FromWriter) => parentPort!.postMessage(m);

const redis = createRedis(data.redisUrl, { commandTimeout: data.commandTimeoutMs });
redis.defineCommand('contenderSetFeatures', { lua: SET_FEATURES_SCRIPT });
const setFeatures = (redis as Redis & { contenderSetFeatures(n: number, ...args: Array<string | number>): Promise<number> }).contenderSetFeatures.bind(redis);

/** The last flush answered (flushes are numbered by the request thread's count of them). */
let answered = 0;
const flushAsked = () => Atomics.load(counters, COUNTER.flushes) !== answered || Atomics.load(counters, COUNTER.close) !== 0;
/** Sends everything waiting now; resolves once Redis has answered every call. */
async function sendWaiting(): Promise<void> {
  for (;;) {
    const taken = ring.take();
    if (!taken) return;
    // The last write of an entity wins, as it would have if each had been sent on its own.
    const latest = new Map<string, string>();
    for (const record of taken.records) {
      const { key, value } = parseWriteRecord(record.toString('utf8'));
      latest.delete(key);
      latest.set(key, value);
    }
    const entries = [...latest];
    const calls: Array<Promise<void>> = [];
    for (let i = 0; i < entries.length; i += MAX_KEYS_PER_CALL) {
      const chunk = entries.slice(i, i + MAX_KEYS_PER_CALL);
      const args: Array<string | number> = chunk.map(([key]) => key);
      args.push(data.ttlSeconds);
      for (const [, value] of chunk) args.push(value);
      calls.push(
        setFeatures(chunk.length, ...args).then(
          () => void Atomics.add(counters, COUNTER.written, chunk.length),
          (err: unknown) => {
            Atomics.add(counters, COUNTER.failed, chunk.length);
            post({ type: 'failed', count: chunk.length, message: (err as Error | undefined)?.message ?? String(err) });
          },
        ),
      );
    }
    await Promise.all(calls);
    ring.release(taken);
  }
}

async function run(): Promise<void> {
  // The connection is fail-fast (no offline queue), like the request thread's: give it its first
  // connect before the first write-throughs go, so a fresh start does not fail them all.
  if (redis.status !== 'ready') await Promise.race([once(redis, 'ready'), sleep(data.commandTimeoutMs)]).catch(() => undefined);
  for (;;) {
    if (!flushAsked()) {
      await ring.waitForRecords(1_000, flushAsked);
      // Let a few milliseconds of write-throughs gather, unless a flush is waiting.
      if (!flushAsked() && data.delayMs > 0) await sleep(data.delayMs);
    }
    const flushes = Atomics.load(counters, COUNTER.flushes);
    const close = Atomics.load(counters, COUNTER.close) !== 0;
    await sendWaiting();
    if (flushes !== answered) {
      answered = flushes;
      post({ type: 'flushed', upTo: flushes });
    }
    if (close) break;
  }
  await Promise.race([redis.quit(), sleep(1_000)]).catch(() => undefined);
  redis.disconnect();
}

void run();
