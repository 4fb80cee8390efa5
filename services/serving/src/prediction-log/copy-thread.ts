/**
 * The worker thread of Copier (see there): COPYs ranges of the prediction log's ring into
 * serving.prediction on a connection of its own, and answers each request with the rows written
 * or the error (with its SQLSTATE, so the request thread can tell a duplicate or a refused row
 * from an outage).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createPool } from '@contender/platform/connections';
import { SharedRing } from '../offload/shared-ring.js';
import type { CopierData, CopyAnswer, CopyRequest } from './copier.js';
import { PgPredictionStore } from './pg-prediction-store.js';

const data = workerData as CopierData;
const ring = SharedRing.attach(data.ring);
const pool = createPool(data.databaseUrl, { max: 1, applicationName: 'contender-serving-log' });
const store = new PgPredictionStore(pool, { writeTimeoutMs: data.writeTimeoutMs });
const port = parentPort!;
const answer = (a: CopyAnswer) => port.postMessage(a);

port.on('message', (m: CopyRequest) => {
  if (m.type === 'close') {
    void pool.end().catch(() => undefined).finally(() => port.close());
    return;
  }
  store.copyLines(ring.readRange(m.range)).then(
    (n) => answer({ id: m.id, ok: true, rows: n }),
    (err: unknown) => {
      const e = err as { message?: unknown; code?: unknown } | null;
      answer({ id: m.id, ok: false, message: String(e?.message ?? err), code: typeof e?.code === 'string' ? e.code : undefined });
    },
  );
});
answer({ ready: true });
