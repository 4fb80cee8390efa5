import { Worker } from 'node:worker_threads';
import { endWorker } from '../offload/end-worker.js';
import type { RingRange, SharedRing } from '../offload/shared-ring.js';

export interface CopierData {
  ring: SharedArrayBuffer;
  databaseUrl: string;
  writeTimeoutMs: number;
}
export type CopyRequest = { type: 'copy'; id: number; range: RingRange } | { type: 'close' };
export type CopyAnswer =
  | { id: number; ok: true; rows: number }
  | { id: number; ok: false; message: string; code: string | undefined }
  /** The thread has loaded and takes copies. */
  | { ready: true };

/** An error the worker thread answered with, carrying Postgres' SQLSTATE as `code` when there was one. */
export class CopyError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/**
 * COPYs ranges of the prediction log's ring (one COPY line per record) into serving.prediction
 * from a worker thread (`copy-thread.ts`) with a connection of its own: the request thread then
 * neither holds the rows nor runs the COPY protocol. The thread is started by start() (loading it
 * takes a few hundred milliseconds on a busy machine, which the first batch should not wait for)
 * and again, on the next copy, after it died; a copy in progress when it dies fails, and the log
 * spills that batch.
 */
export class Copier {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (rows: number) => void; reject: (err: Error) => void }>();
  private started: Promise<void> | null = null;
  private markStarted: (() => void) | null = null;

  constructor(
    private readonly ring: SharedRing,
    private readonly opts: { databaseUrl: string; writeTimeoutMs: number },
  ) {}

  /** Starts the thread; resolves once it has loaded (or failed to: copies then fail, and are spilled). */
  start(): Promise<void> {
    this.ensureWorker();
    return this.started!;
  }

  /** Resolves with the rows written; rejects with a CopyError (or the thread's failure). */
  copy(range: RingRange): Promise<number> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // Referenced while a copy is in progress: an awaited copy must keep the process alive.
      worker.ref();
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ type: 'copy', id, range } satisfies CopyRequest);
    });
  }

  /** Ends the thread (after its copies in progress have been answered by the caller's awaiting them). */
  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = null;
    await endWorker(worker, () => worker.postMessage({ type: 'close' } satisfies CopyRequest));
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const data: CopierData = { ring: this.ring.buffer, databaseUrl: this.opts.databaseUrl, writeTimeoutMs: this.opts.writeTimeoutMs };
    // Referenced until it has loaded (start() is awaited), then only while a copy is awaited.
    const worker = new Worker(new URL('./copy-thread.js', import.meta.url), { workerData: data });
    this.started = new Promise((resolve) => (this.markStarted = resolve));
    worker.on('message', (a: CopyAnswer) => {
      if ('ready' in a) {
        if (this.waiting.size === 0) worker.unref();
        this.markStarted?.();
        return;
      }
      const w = this.waiting.get(a.id);
      if (!w) return;
      this.waiting.delete(a.id);
      if (this.waiting.size === 0) worker.unref();
      if (a.ok) w.resolve(a.rows);
      else w.reject(new CopyError(a.message, a.code));
    });
    const failAll = (err: Error) => {
      this.markStarted?.();
      if (this.worker === worker) this.worker = null;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    };
    worker.on('error', (err) => failAll(err));
    worker.on('exit', (code) => failAll(new Error(`the prediction log's COPY thread exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }
}
