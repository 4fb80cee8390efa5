import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AggregatorRegistry, Histogram, Registry } from 'prom-client';
import { FastHistogram } from './fast-histogram.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];
const VALUES = [0.0005, 0.001, 0.002, 0.05, 0.05, 0.5, 2, 7];

function pair() {
  const theirs = new Registry();
  const ours = new Registry();
  for (const r of [theirs, ours]) r.setDefaultLabels({ service: 'serving' });
  const ref = new Histogram({ name: 'x_seconds', help: 'h', labelNames: ['model', 'variant'] as const, buckets: BUCKETS, registers: [theirs] });
  const fast = new FastHistogram({ name: 'x_seconds', help: 'h', labelNames: ['model', 'variant'] as const, buckets: BUCKETS, registers: [ours] });
  return { theirs, ours, ref, fast };
}

/** The exposition text as a set of lines, label order normalised. */
const lines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.replace(/\{([^}]*)\}/, (_, inner: string) => `{${inner.split(',').sort().join(',')}}`))
    .sort();

describe('FastHistogram', () => {
  it('exports exactly what prom-client\'s Histogram exports for the same observations', async () => {
    const { theirs, ours, ref, fast } = pair();
    const a = fast.labels('credit', 'champion');
    const b = fast.labels('credit', 'shadow');
    for (const v of VALUES) {
      ref.labels('credit', 'champion').observe(v);
      a.observe(v);
    }
    ref.labels('credit', 'shadow').observe(0.3);
    b.observe(0.3);
    assert.deepEqual(lines(await ours.metrics()), lines(await theirs.metrics()));
    assert.match(await ours.metrics(), /# TYPE x_seconds histogram/);
  });

  it('returns the same child for the same labels, and sums across cluster workers like prom-client', async () => {
    const { theirs, ours, ref, fast } = pair();
    assert.equal(fast.labels('m', 'champion'), fast.labels('m', 'champion'));
    fast.labels('m', 'champion').observe(0.05);
    ref.labels('m', 'champion').observe(0.05);
    const merged = AggregatorRegistry.aggregate([await ours.getMetricsAsJSON(), await ours.getMetricsAsJSON()]);
    const expected = AggregatorRegistry.aggregate([await theirs.getMetricsAsJSON(), await theirs.getMetricsAsJSON()]);
    assert.deepEqual(lines(await merged.metrics()), lines(await expected.metrics()));
    assert.match(await merged.metrics(), /x_seconds_count\{[^}]*\} 2/);
  });

  it('resets to zero', async () => {
    const { ours, fast } = pair();
    fast.labels('m', 'champion').observe(1);
    fast.reset();
    assert.match(await ours.metrics(), /x_seconds_count\{[^}]*\} 0/);
  });
});
