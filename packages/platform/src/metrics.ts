import { Registry, collectDefaultMetrics, Histogram } from 'prom-client';

const MISNAMED_DEFAULT_GAUGES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/**
 * One Registry per process, injected everywhere; never prom-client's global one, so tests that
 * build several apps in one process do not collide on metric names.
 */
export function createMetricsRegistry(service: string, opts: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (opts.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    // prom-client names three gauges with a counter's `_total` suffix, which `promtool check
    // metrics` (and anyone reading rate() over them) takes for counters; nothing here reads them.
    for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(name);
  }
  return registry;
}

/** Seconds, from 0.5 ms to 10 s: request handling here spans sub-millisecond predictions to uploads. */
export const HTTP_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createHttpDurationHistogram(registry: Registry, service: string) {
  return new Histogram({
    name: `${service}_http_request_duration_seconds`,
    help: 'HTTP request duration by method, route template and status code',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_DURATION_BUCKETS,
    registers: [registry],
  });
}
