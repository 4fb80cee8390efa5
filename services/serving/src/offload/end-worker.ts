import type { Worker } from 'node:worker_threads';

/**
 * Asks a worker thread to finish (`ask`: the thread answers what it holds and exits) and resolves
 * once it has exited; one still running after `graceMs` is terminated, and what it held is lost.
 */
export async function endWorker(worker: Worker, ask: () => void, graceMs = 3_000): Promise<void> {
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  ask();
  const timer = setTimeout(() => void worker.terminate(), graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
