import { parentPort, workerData } from 'node:worker_threads';
import { trainAndExport, type TrainJob } from './train-job.js';

// The worker's entry (see trainInWorker): train, export, post the bytes back, exit.
const result = trainAndExport(workerData as TrainJob);
parentPort!.postMessage(result, [result.onnx.buffer as ArrayBuffer]);
