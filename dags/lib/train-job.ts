import { Worker } from 'node:worker_threads';
import { exportToOnnx, trainGbdt, trainLogReg, type Dataset, type GbdtParams, type LogRegParams } from '@contender/ml';

export interface TrainJob {
  algorithm: 'gbdt' | 'logreg';
  gbdt: Partial<GbdtParams>;
  logreg: Partial<LogRegParams>;
  train: Dataset;
  /** early stopping (gbdt) */
  validation: Dataset;
  /** extra ONNX metadata_props */
  metadata: Record<string, string>;
}

export interface TrainResult {
  onnx: Uint8Array;
  /** what the trainer reports: trees and rounds (gbdt), iterations and convergence (logreg) */
  facts: Record<string, number | boolean>;
  /** the trainer's resolved hyperparameters */
  params: Record<string, number | string>;
  seconds: number;
}

/** Trains and exports in this thread: the worker's body, and what a benchmark times. */
export function trainAndExport(job: TrainJob, signal?: AbortSignal): TrainResult {
  const started = performance.now();
  if (job.algorithm === 'gbdt') {
    const model = trainGbdt(job.train, job.gbdt, { validation: job.validation, signal });
    const seconds = (performance.now() - started) / 1000;
    return {
      onnx: exportToOnnx(model, { metadata: job.metadata }),
      facts: { trees: model.trees.length, rounds: model.history.length, bestIteration: model.bestIteration },
      params: { ...model.params },
      seconds,
    };
  }
  const model = trainLogReg(job.train, job.logreg, { signal });
  const seconds = (performance.now() - started) / 1000;
  return {
    onnx: exportToOnnx(model, { metadata: job.metadata }),
    facts: { iterations: model.iterations, converged: model.converged },
    params: { ...model.params },
    seconds,
  };
}

/**
 * Trains on a worker thread: training is synchronous, and on the runner's thread it would stall
 * the run's lease heartbeats and the abort timer for as long as it takes. An abort (timeout,
 * cancel, shutdown) terminates the worker at once.
 */
export function trainInWorker(job: TrainJob, signal: AbortSignal): Promise<TrainResult> {
  signal.throwIfAborted();
  return new Promise<TrainResult>((resolve, reject) => {
    const worker = new Worker(new URL('./train-worker.js', import.meta.url), { workerData: job });
    const onAbort = () => {
      void worker.terminate();
      reject(signal.reason instanceof Error ? signal.reason : new Error('training aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const done = () => signal.removeEventListener('abort', onAbort);
    worker.once('message', (result: TrainResult) => {
      done();
      resolve(result);
    });
    worker.once('error', (err) => {
      done();
      reject(err);
    });
    worker.once('exit', (code) => {
      done();
      if (code !== 0) reject(new Error(`the training worker exited with code ${code}`));
    });
  });
}
