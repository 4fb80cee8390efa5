import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

const REQUEST = 'contender:serving:metrics-request';
const RESPONSE = 'contender:serving:metrics-response';

interface MetricsMessage {
  type: string;
  id: number;
  text?: string;
  error?: string;
}

/**
 * In the cluster primary: answers a worker's request for /metrics with every worker's registry
 * aggregated (prom-client's AggregatorRegistry asks each worker over IPC and merges: counters and
 * histograms summed, gauges as each metric's `aggregator` says).
 */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: MetricsMessage) => {
    if (message?.type !== REQUEST) return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: RESPONSE, id: message.id, text }),
      (err: Error) => worker.send({ type: RESPONSE, id: message.id, error: err.message }),
    );
  });
}

/**
 * In a worker: makes `registry` the one the primary aggregates, and returns the function that
 * /metrics calls to get the whole cluster's text (a scrape lands on any one worker).
 */
export function clusterMetricsSource(registry: Registry): () => Promise<string> {
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one installs prom-client's worker-side listener for the primary's requests.
  new AggregatorRegistry();
  let next = 0;
  const waiting = new Map<number, { resolve: (t: string) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  process.on('message', (message: MetricsMessage) => {
    if (message?.type !== RESPONSE) return;
    const w = waiting.get(message.id);
    if (!w) return;
    waiting.delete(message.id);
    clearTimeout(w.timer);
    if (message.error !== undefined) w.reject(new Error(message.error));
    else w.resolve(message.text ?? '');
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error('the cluster primary did not answer the metrics request within 10 s'));
      }, 10_000);
      waiting.set(id, { resolve, reject, timer });
      process.send!({ type: REQUEST, id });
    });
}
