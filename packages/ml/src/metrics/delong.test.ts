import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRandom } from '../data/random.js';
import { compareAucIndependent, compareAucPaired, delongAuc } from './delong.js';
import { compareProportions, wilsonInterval } from './proportions.js';

const close = (actual: number, expected: number, tolerance = 1e-12): void => {
  assert.ok(Math.abs(actual - expected) <= tolerance, `expected ${expected}, got ${actual}`);
};

/*
 * Hand-worked example. Rows 0–2 are positives, rows 3–5 negatives.
 *   Model A: positives 0.8 0.6 0.4, negatives 0.5 0.4 0.1
 *     V10 = [1, 1, ½]  (0.4 beats 0.1, ties 0.4, loses to 0.5)   AUC = 5/6
 *     V01 = [2/3, 5/6, 1]
 *     s²(V10) = 1/12, s²(V01) = 1/36 → Var(AUC_A) = (1/12)/3 + (1/36)/3 = 1/27
 *   Model B: positives 0.7 0.3 0.9, negatives 0.2 0.6 0.1
 *     V10 = [1, 2/3, 1], V01 = [1, 2/3, 1]                       AUC = 8/9
 *     s²(V10) = s²(V01) = 1/27 → Var(AUC_B) = 2/81
 *   Cov: s(V10_A, V10_B) = −1/36, s(V01_A, V01_B) = 0
 *     Var(B − A) = (1/12 + 1/27 + 2/36)/3 + (1/36 + 1/27)/3 = 13/162
 */
const y = [1, 1, 1, 0, 0, 0];
const scoresA = [0.8, 0.6, 0.4, 0.5, 0.4, 0.1];
const scoresB = [0.7, 0.3, 0.9, 0.2, 0.6, 0.1];

/** DeLong's variance straight from its definition (pairwise ψ), for cross-checking. */
function bruteForceComponents(labels: ArrayLike<number>, s: ArrayLike<number>): { v10: number[]; v01: number[] } {
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < labels.length; i++) (labels[i] === 1 ? pos : neg).push(s[i]!);
  const psi = (a: number, b: number): number => (a > b ? 1 : a === b ? 0.5 : 0);
  return {
    v10: pos.map((x) => neg.reduce((sum, yv) => sum + psi(x, yv), 0) / neg.length),
    v01: neg.map((yv) => pos.reduce((sum, x) => sum + psi(x, yv), 0) / pos.length),
  };
}

function sampleCovariance(a: number[], b: number[]): number {
  const ma = a.reduce((s, v) => s + v, 0) / a.length;
  const mb = b.reduce((s, v) => s + v, 0) / b.length;
  return a.reduce((s, v, i) => s + (v - ma) * (b[i]! - mb), 0) / (a.length - 1);
}

function tiedRandomData(n: number, seed: number): { labels: Float64Array; a: Float64Array; b: Float64Array } {
  const random = createRandom(seed);
  const labels = new Float64Array(n);
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 3 === 0 ? 1 : 0;
    const signal = labels[i]! * 0.3;
    a[i] = Math.round((random() + signal) * 10) / 10;
    b[i] = Math.round((0.5 * a[i]! + 0.5 * random() + signal) * 10) / 10;
  }
  return { labels, a, b };
}

describe('delongAuc', () => {
  it('matches the hand-worked variance 1/27 on the six-row example', () => {
    const est = delongAuc(y, scoresA);
    close(est.auc, 5 / 6);
    close(est.variance, 1 / 27);
    close(est.standardError, Math.sqrt(1 / 27));
    assert.equal(est.confidenceInterval[1], 1, 'the upper bound is clipped to 1');
  });

  it('matches the variance computed from pairwise structural components on tied data', () => {
    const { labels, a } = tiedRandomData(150, 11);
    const { v10, v01 } = bruteForceComponents(labels, a);
    const expected = sampleCovariance(v10, v10) / v10.length + sampleCovariance(v01, v01) / v01.length;
    close(delongAuc(labels, a).variance, expected, 1e-15);
  });

  it('needs at least two rows of each class', () => {
    assert.throws(() => delongAuc([1, 0, 0], [0.5, 0.2, 0.1]), /at least 2 positives and 2 negatives/);
  });
});

describe('compareAucPaired', () => {
  it('matches the hand-worked difference, variance, z and p-value', () => {
    const c = compareAucPaired(y, scoresA, scoresB);
    close(c.aucA, 5 / 6);
    close(c.aucB, 8 / 9);
    close(c.difference, 1 / 18);
    close(c.standardError, Math.sqrt(13 / 162));
    close(c.z, 1 / 18 / Math.sqrt(13 / 162));
    // z = 0.1961161; Φ(z) = ½ + (z − z³/6 + z⁵/40 − z⁷/336)/√(2π) = 0.5777403 → p = 2·(1 − Φ(z)) = 0.8445194
    close(c.pValue, 0.8445194, 1e-6);
    close(c.confidenceInterval[0], 1 / 18 - 1.959963984540054 * Math.sqrt(13 / 162), 1e-12);
  });

  it('matches the covariance computed from pairwise structural components on tied data', () => {
    const { labels, a, b } = tiedRandomData(120, 5);
    const ca = bruteForceComponents(labels, a);
    const cb = bruteForceComponents(labels, b);
    const v10 = ca.v10.map((v, i) => v - cb.v10[i]!);
    const v01 = ca.v01.map((v, i) => v - cb.v01[i]!);
    const expected = sampleCovariance(v10, v10) / v10.length + sampleCovariance(v01, v01) / v01.length;
    close(compareAucPaired(labels, a, b).standardError ** 2, expected, 1e-15);
  });

  it('gives p = 1 and a zero-width interval for identical score vectors', () => {
    const c = compareAucPaired(y, scoresA, scoresA);
    assert.equal(c.difference, 0);
    assert.equal(c.pValue, 1);
    assert.deepEqual(c.confidenceInterval, [0, 0]);
  });

  it('finds a clearly better model significantly better', () => {
    const n = 600;
    const random = createRandom(9);
    const labels = Float64Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1 : 0));
    const strong = labels.map((l) => l * 1.5 + random());
    const weak = labels.map((l) => l * 0.2 + random());
    const c = compareAucPaired(labels, weak, strong);
    assert.ok(c.difference > 0.2 && c.pValue < 1e-10 && c.confidenceInterval[0] > 0);
  });
});

describe('compareAucIndependent', () => {
  it('adds the two DeLong variances of disjoint samples', () => {
    const c = compareAucIndependent({ y, scores: scoresA }, { y, scores: scoresB });
    close(c.difference, 1 / 18);
    close(c.standardError ** 2, 1 / 27 + 2 / 81);
    assert.equal(c.method, 'delong-independent');
  });
});

describe('proportions', () => {
  it('reproduces the Wilson interval from its closed form', () => {
    // 81/263, z = 1.96: centre (p + z²/2n)/(1 + z²/n), half-width z/(1 + z²/n)·√(p(1−p)/n + z²/4n²)
    const w = wilsonInterval({ successes: 81, trials: 263 });
    const z = 1.959963984540054;
    const p = 81 / 263;
    const centre = (p + (z * z) / 526) / (1 + (z * z) / 263);
    const half = (z / (1 + (z * z) / 263)) * Math.sqrt((p * (1 - p)) / 263 + (z * z) / (4 * 263 * 263));
    close(w.lower, centre - half);
    close(w.upper, centre + half);
  });

  it("reproduces Newcombe's published interval for 56/70 vs 48/80 (0.0524 to 0.3339)", () => {
    const c = compareProportions({ successes: 48, trials: 80 }, { successes: 56, trials: 70 });
    close(c.difference, 0.2, 1e-12);
    close(c.confidenceInterval[0], 0.0524, 5e-5);
    close(c.confidenceInterval[1], 0.3339, 5e-5);
  });

  it('uses the pooled z statistic for the p-value', () => {
    // pooled p = 104/150; z = 0.2 / √(p(1−p)(1/70 + 1/80))
    const c = compareProportions({ successes: 48, trials: 80 }, { successes: 56, trials: 70 });
    const pooled = 104 / 150;
    close(c.z, 0.2 / Math.sqrt(pooled * (1 - pooled) * (1 / 70 + 1 / 80)), 1e-12);
    assert.ok(c.pValue > 0.005 && c.pValue < 0.01);
  });

  it('rejects impossible counts', () => {
    assert.throws(() => wilsonInterval({ successes: 5, trials: 3 }), /successes <= trials/);
  });
});
