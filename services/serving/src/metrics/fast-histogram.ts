import type { Metric, Registry } from 'prom-client';

/** One label combination's buckets, bound once: `observe` is a loop over the bounds and three additions. */
export interface HistogramChild {
  observe(value: number): void;
}

class Child implements HistogramChild {
  /** Per bucket (not cumulative); the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/**
 * A Prometheus histogram for the prediction hot path, registered in the same prom-client Registry
 * and exported in the same format (and aggregated across cluster workers like prom-client's own,
 * by summing). prom-client's `observe` builds a label hash and validates labels on every call; here
 * a child is bound to its labels once and observing allocates nothing.
 */
export class FastHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly children = new Map<string, { labels: Record<L, string>; child: Child }>();

  constructor(
    readonly opts: { name: string; help: string; labelNames: readonly L[]; buckets: readonly number[]; registers: Registry[] },
  ) {
    for (const r of opts.registers) r.registerMetric(this as unknown as Metric);
  }

  get name(): string {
    return this.opts.name;
  }

  get help(): string {
    return this.opts.help;
  }

  /** The child for these label values, in `labelNames` order. Keep it: looking it up is the slow part. */
  labels(...values: string[]): HistogramChild {
    const key = values.join('\u0000');
    let entry = this.children.get(key);
    if (!entry) {
      const labels = Object.fromEntries(this.opts.labelNames.map((n, i) => [n, values[i] ?? ''])) as Record<L, string>;
      entry = { labels, child: new Child(this.opts.buckets) };
      this.children.set(key, entry);
    }
    return entry.child;
  }

  reset(): void {
    for (const { child } of this.children.values()) {
      child.counts.fill(0);
      child.sum = 0;
      child.count = 0;
    }
  }

  /** prom-client's metric JSON: what Registry#metrics() and the cluster aggregator read. */
  async get() {
    const name = this.opts.name;
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    for (const { labels, child } of this.children.values()) {
      let cumulative = 0;
      this.opts.buckets.forEach((bound, i) => {
        cumulative += child.counts[i]!;
        values.push({ labels: { ...labels, le: bound }, value: cumulative, metricName: `${name}_bucket` });
      });
      values.push({ labels: { ...labels, le: '+Inf' }, value: child.count, metricName: `${name}_bucket` });
      values.push({ labels: { ...labels }, value: child.sum, metricName: `${name}_sum` });
      values.push({ labels: { ...labels }, value: child.count, metricName: `${name}_count` });
    }
    return { name, help: this.opts.help, type: this.type, values, aggregator: this.aggregator };
  }
}
