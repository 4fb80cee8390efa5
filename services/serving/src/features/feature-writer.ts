import { Worker } from 'node:worker_threads';
import type { Logger } from '@contender/platform';
import { endWorker } from '../offload/end-worker.js';
import { SharedRing } from '../offload/shared-ring.js';
import { COUNTER, COUNTER_WORDS, recordPrefix, writeRecord, type FromWriter, type WriterData } from './feature-writer-protocol.js';

export interface FeatureWriterOptions {
  redisUrl: string;
  ttlSeconds: number;
  /** How long write-throughs wait to be sent together. */
  delayMs: number;
  logger: Logger;
  /** Told of write-throughs Redis refused or never answered (the caller counts and logs them). */
  onFailure: (count: number, message: string) => void;
  /** Bytes of write-throughs waiting at most; beyond, a write-through is dropped and counted failed. Default 8 MiB. */
  ringBytes?: number;
  commandTimeoutMs?: number;
}

/**
 * Sends write-throughs to Redis from a worker thread. push() copies the key and value into a
 * shared ring (see SharedRing) and returns; the worker thread gathers a few milliseconds of them
 * and sends them as script calls on a Redis connection of its own. So the request thread keeps no
 * object per write-through alive beyond its own turn, and the command's serialisation, socket
 * write and reply run on the other core: measured, together with the same treatment of the
 * prediction log, this is what brought serving's p99 at half its maximum rate near 5 ms
 * (docs/benchmarks.md).
 *
 * A write-through stays in the ring until Redis answered it (or refused it): waitingValue() reads
 * it there, for the request thread's read-your-writes. Write-throughs are best effort, as before: one that fails, or
 * finds the ring full, is counted and reported through onFailure, and the prediction is answered.
 */
export class FeatureWriter {
  private readonly ring: SharedRing;
  private readonly counters: Int32Array;
  private worker: Worker;
  /** False between a worker thread's unexpected exit and its replacement's start. */
  private running = true;
  private flushesAsked = 0;
  private readonly flushWaiters: Array<{ upTo: number; resolve: () => void }> = [];
  private closed: Promise<void> | null = null;
  /** Dropped (ring full) since the last report. */
  private dropped = 0;
  private readonly data: WriterData;

  constructor(private readonly opts: FeatureWriterOptions) {
    this.ring = SharedRing.create(opts.ringBytes ?? 8 * 1024 * 1024);
    this.counters = new Int32Array(new SharedArrayBuffer(COUNTER_WORDS * 4));
    this.data = {
      ring: this.ring.buffer,
      counters: this.counters.buffer as SharedArrayBuffer,
      redisUrl: opts.redisUrl,
      ttlSeconds: opts.ttlSeconds,
      delayMs: opts.delayMs,
      commandTimeoutMs: opts.commandTimeoutMs ?? 1_000,
    };
    this.worker = this.startWorker();
  }

  /** Queues SET key value (with the TTL); false if the ring is full (counted as a failed write-through). */
  push(key: string, value: string): boolean {
    if (this.closed || !this.ring.push(writeRecord(key, value))) {
      if (this.dropped++ === 0) queueMicrotask(() => this.reportDropped());
      return false;
    }
    return true;
  }

  /**
   * The value of the newest write-through of `key` not yet answered by Redis, or null: what Redis
   * will hold a moment from now. Read from the ring itself, so the request thread keeps nothing
   * per write-through (see SharedRing.findUnreleased).
   */
  waitingValue(key: string): string | null {
    if (!this.ring.hasUnreleased()) return null;
    const prefix = Buffer.from(recordPrefix(key));
    const place = this.ring.findUnreleased(prefix, { newest: true });
    return place ? this.ring.text(place, prefix.length) : null;
  }

  /** Entities written, and write-throughs failed or dropped, since the start. */
  counts(): { written: number; failed: number } {
    return { written: Atomics.load(this.counters, COUNTER.written), failed: Atomics.load(this.counters, COUNTER.failed) };
  }

  /** Sends what waits now; resolves once Redis has answered every write-through pushed before. */
  flush(): Promise<void> {
    return this.closed ?? this.askFlush();
  }

  /** Sends what waits, then stops the worker thread and its connection. Idempotent. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      if (!this.running) {
        this.settleFlushes(Infinity);
        return;
      }
      // The worker answers the flush, quits its connection and exits; one that does not within
      // 3 s is stopped (what it still held is lost, as with any write-through that fails).
      await endWorker(this.worker, () => void this.askFlush(true));
    })();
    return this.closed;
  }

  private askFlush(andClose = false): Promise<void> {
    const upTo = ++this.flushesAsked;
    // Referenced while a flush is awaited: it must keep the process alive until answered.
    if (this.flushWaiters.length === 0) this.worker.ref();
    const done = new Promise<void>((resolve) => this.flushWaiters.push({ upTo, resolve }));
    Atomics.store(this.counters, COUNTER.flushes, upTo);
    if (andClose) Atomics.store(this.counters, COUNTER.close, 1);
    this.ring.wake();
    return done;
  }

  private startWorker(): Worker {
    const worker = new Worker(new URL('./feature-writer-thread.js', import.meta.url), { workerData: this.data });
    // The thread must not keep the process alive (close() ends it in an orderly shutdown), except
    // while a flush is awaited: a replacement started meanwhile is referenced until it answers.
    if (this.flushWaiters.length === 0) worker.unref();
    worker.on('message', (m: FromWriter) => {
      if (m.type === 'failed') this.opts.onFailure(m.count, m.message);
      else this.settleFlushes(m.upTo);
    });
    worker.on('error', (err) => {
      this.opts.logger.error({ err }, 'feature cache: the write-through thread failed; starting it again');
    });
    worker.on('exit', () => {
      this.running = false;
      if (this.closed) {
        this.settleFlushes(Infinity);
        return;
      }
      // What it had taken but not sent is still in the ring: the new thread sends it. A second
      // later, so a thread that cannot start does not spin.
      setTimeout(() => {
        if (this.closed) return;
        this.worker = this.startWorker();
        this.running = true;
      }, 1_000).unref();
    });
    return worker;
  }

  private settleFlushes(upTo: number): void {
    while (this.flushWaiters.length > 0 && this.flushWaiters[0]!.upTo <= upTo) this.flushWaiters.shift()!.resolve();
    if (this.flushWaiters.length === 0) this.worker.unref();
  }

  private reportDropped(): void {
    const n = this.dropped;
    this.dropped = 0;
    if (n === 0) return;
    Atomics.add(this.counters, COUNTER.failed, n);
    this.opts.onFailure(n, this.closed ? 'the feature cache is closed' : 'too many write-throughs waiting for Redis');
  }
}
