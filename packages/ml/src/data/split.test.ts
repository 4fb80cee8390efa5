import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRandom } from './random.js';
import { stratifiedSplit } from './split.js';

/** 1000 labels, 22% positive, in a scrambled order. */
function labels(): Float64Array {
  const random = createRandom(99);
  return Float64Array.from({ length: 1000 }, (_, i) => (i < 220 ? 1 : 0)).sort(() => random() - 0.5);
}

const count = (y: Float64Array, rows: Uint32Array, label: number): number => rows.reduce((n, i) => n + (y[i] === label ? 1 : 0), 0);

describe('stratifiedSplit', () => {
  it('gives each part its fraction of every class', () => {
    const y = labels();
    const [train, validation, test] = stratifiedSplit(y, { fractions: [0.7, 0.15, 0.15], seed: 1 });
    assert.deepEqual([count(y, train!, 1), count(y, validation!, 1), count(y, test!, 1)], [154, 33, 33]);
    assert.deepEqual([count(y, train!, 0), count(y, validation!, 0), count(y, test!, 0)], [546, 117, 117]);
  });

  it('partitions the rows: every index exactly once, each part ascending', () => {
    const parts = stratifiedSplit(labels(), { fractions: [0.5, 0.3, 0.2], seed: 2 });
    const all = parts.flatMap((p) => [...p]).sort((a, b) => a - b);
    assert.deepEqual(all, Array.from({ length: 1000 }, (_, i) => i));
    for (const p of parts) assert.ok(p.every((v, i) => i === 0 || v > p[i - 1]!));
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const y = labels();
    const a = stratifiedSplit(y, { fractions: [0.8, 0.2], seed: 7 });
    assert.deepEqual(stratifiedSplit(y, { fractions: [0.8, 0.2], seed: 7 }), a);
    assert.notDeepEqual(stratifiedSplit(y, { fractions: [0.8, 0.2], seed: 8 })[1], a[1]);
  });

  it('rounds each class down or up so that its counts add up, leaving rounding to the parts furthest behind', () => {
    const y = Float64Array.from([1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
    const parts = stratifiedSplit(y, { fractions: [0.7, 0.15, 0.15], seed: 3 });
    // Negatives first: 4.9 / 1.05 / 1.05 → 5, 1, 1 (train +0.1 ahead). Positives: 2.1 / 0.45 / 0.45 → 2, 1, 0
    // (the spare row goes to a 0.15 part, which is behind; the tie between them to the earlier one).
    assert.deepEqual(parts.map((p) => count(y, p, 0)), [5, 1, 1]);
    assert.deepEqual(parts.map((p) => count(y, p, 1)), [2, 1, 0]);
  });

  it('keeps part totals within a row of their share when every class rounds the same way', () => {
    // 183 positives and 417 negatives: 27.45 and 62.55 rows for each 15% part. Rounding each class
    // on its own would give the first 15% part both spare rows (91 vs 89).
    const y = Float64Array.from({ length: 600 }, (_, i) => (i < 183 ? 1 : 0));
    const parts = stratifiedSplit(y, { fractions: [0.7, 0.15, 0.15], seed: 4 });
    assert.deepEqual(parts.map((p) => p.length), [420, 90, 90]);
  });

  it('refuses fractions that do not sum to 1', () => {
    assert.throws(() => stratifiedSplit([0, 1], { fractions: [0.7, 0.2], seed: 1 }), /must sum to 1/);
  });
});
