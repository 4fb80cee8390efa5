import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRandom } from '../data/random.js';
import { matrix } from '../matrix.js';
import { kolmogorovSurvival } from '../metrics/special-functions.js';
import { detectDrift } from './detect.js';
import { buildReferenceProfile, columnsFromMatrix, parseReferenceProfile, type FeatureColumn } from './profile.js';
import { chiSquareHomogeneity, jensenShannonDistance, ksPValue, ksTwoSample, populationStabilityIndex } from './statistics.js';

const close = (actual: number, expected: number, tolerance = 1e-12): void => {
  assert.ok(Math.abs(actual - expected) <= tolerance, `expected ${expected}, got ${actual}`);
};

function normals(n: number, seed: number, mean = 0, sd = 1): Float64Array {
  const random = createRandom(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // Box–Muller; 1 − u keeps the log argument in (0, 1].
    const u = 1 - random();
    const v = random();
    out[i] = mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

function categories(n: number, seed: number, weights: Record<string, number>): string[] {
  const random = createRandom(seed);
  const entries = Object.entries(weights);
  const total = entries.reduce((s, [, w]) => s + w, 0);
  return Array.from({ length: n }, () => {
    let r = random() * total;
    for (const [value, w] of entries) if ((r -= w) < 0) return value;
    return entries[entries.length - 1]![0];
  });
}

/** Two-sample KS statistic by its definition: evaluate both ECDFs at every observed value. */
function bruteForceKs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ecdf = (s: ArrayLike<number>, x: number): number => Array.prototype.filter.call(s, (v: number) => v <= x).length / s.length;
  let d = 0;
  for (const x of [...Array.from(a), ...Array.from(b)]) d = Math.max(d, Math.abs(ecdf(a, x) - ecdf(b, x)));
  return d;
}

describe('populationStabilityIndex', () => {
  it('matches the formula on a two-bin example', () => {
    // (0.25 − 0.5)·ln(0.25/0.5) + (0.75 − 0.5)·ln(0.75/0.5)
    close(populationStabilityIndex([0.5, 0.5], [0.25, 0.75], 0), 0.25 * Math.log(2) + 0.25 * Math.log(1.5));
  });

  it('is 0 for identical distributions and accepts counts as well as proportions', () => {
    close(populationStabilityIndex([10, 30, 60], [1, 3, 6]), 0);
  });

  it('stays finite when a bin is empty on one side, thanks to ε smoothing', () => {
    close(populationStabilityIndex([1, 0], [1, 0]), 0);
    const psi = populationStabilityIndex([1, 0], [0.95, 0.05]);
    assert.ok(Number.isFinite(psi) && psi > 0.2, `PSI ${psi}`);
  });
});

describe('jensenShannonDistance', () => {
  it('is 0 for identical, 1 for disjoint distributions', () => {
    close(jensenShannonDistance([0.2, 0.8], [2, 8]), 0);
    close(jensenShannonDistance([1, 0], [0, 1]), 1);
  });

  it('matches a hand-computed value in base 2', () => {
    // P = (½, ½), Q = (1, 0), M = (¾, ¼): JSD = ½·KL(P‖M) + ½·KL(Q‖M)
    const klPM = 0.5 * Math.log2(0.5 / 0.75) + 0.5 * Math.log2(0.5 / 0.25);
    const klQM = Math.log2(1 / 0.75);
    close(jensenShannonDistance([0.5, 0.5], [1, 0]), Math.sqrt(0.5 * klPM + 0.5 * klQM));
  });
});

describe('chiSquareHomogeneity', () => {
  it('matches a hand-computed 2 × 3 table', () => {
    // Column totals 40 each, every expected count 20: (10² + 0 + 10²)·2 / 20 = 20, dof 2, p = e^(−10)
    const r = chiSquareHomogeneity([10, 20, 30], [30, 20, 10]);
    close(r.statistic, 20);
    assert.equal(r.dof, 2);
    close(r.pValue, Math.exp(-10), 1e-15);
  });

  it('ignores categories empty in both samples when counting degrees of freedom', () => {
    assert.equal(chiSquareHomogeneity([5, 0, 5], [4, 0, 6]).dof, 1);
    assert.deepEqual(chiSquareHomogeneity([5, 0], [7, 0]), { statistic: 0, dof: 0, pValue: 1 });
  });
});

describe('ksTwoSample', () => {
  it('finds the largest ECDF gap on a small example', () => {
    // ECDFs differ by ½ from x = 2 to x = 5.
    const r = ksTwoSample([1, 2, 3, 4], [3, 4, 5, 6]);
    assert.equal(r.statistic, 0.5);
    // nₑ = 2: λ = (√2 + 0.12 + 0.11/√2)·½
    close(r.pValue, kolmogorovSurvival((Math.SQRT2 + 0.12 + 0.11 / Math.SQRT2) * 0.5));
  });

  it('matches the definition on samples with many ties and ignores NaN', () => {
    const a = Array.from(normals(300, 1), (v) => Math.round(v * 2) / 2);
    const b = Array.from(normals(200, 2, 0.3), (v) => Math.round(v * 2) / 2);
    close(ksTwoSample([...a, NaN], b).statistic, bruteForceKs(a, b));
  });

  it('gives a large p-value for samples of one distribution and a tiny one after a shift', () => {
    assert.ok(ksTwoSample(normals(2000, 3), normals(2000, 4)).pValue > 0.05);
    assert.ok(ksTwoSample(normals(2000, 3), normals(2000, 4, 0.3)).pValue < 1e-6);
    assert.ok(Number.isNaN(ksPValue(0.1, 0, 10)));
  });
});

describe('buildReferenceProfile', () => {
  it('stores decile edges with the share of values in each right-closed bin', () => {
    const values = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    const [f] = buildReferenceProfile([{ name: 'x', values }]).features;
    assert.ok(f?.kind === 'numeric');
    assert.deepEqual(f.edges, [10, 20, 30, 40, 50, 60, 70, 80, 90]);
    assert.deepEqual(f.proportions, Array(10).fill(0.1));
    assert.equal(f.mean, 50.5);
    assert.equal(f.min, 1);
    assert.equal(f.max, 100);
  });

  it('gives a discrete feature fewer bins and an exact ECDF', () => {
    const values = [1, 1, 1, 2, 2, 2, 2, 2, 2, 2];
    const [f] = buildReferenceProfile([{ name: 'sex', values }]).features;
    assert.ok(f?.kind === 'numeric');
    assert.deepEqual(f.edges, [1, 2]);
    assert.deepEqual(f.proportions, [0.3, 0.7, 0]);
    assert.deepEqual(f.ecdf, { x: [1, 2], p: [0.3, 1], exact: true });
  });

  it('records the missing rate separately from the distribution of present values', () => {
    const [f] = buildReferenceProfile([{ name: 'x', values: [1, NaN, 3, NaN] }]).features;
    assert.equal(f?.missingRate, 0.5);
    assert.equal(f?.count, 4);
  });

  it('keeps the top-k categories by frequency and lumps the rest into "other"', () => {
    const values = ['a', 'b', 'a', 'c', 'a', 'b', 'd', null, ''];
    const [f] = buildReferenceProfile([{ name: 'c', values }], { topK: 2 }).features;
    assert.ok(f?.kind === 'categorical');
    assert.deepEqual(f.values, ['a', 'b']);
    assert.deepEqual(f.proportions, [0.428571, 0.285714]);
    assert.equal(f.other, 0.285714);
    assert.equal(f.missingRate, 0.222222);
  });

  it('profiles numeric codes as categories when asked', () => {
    const [f] = buildReferenceProfile([{ name: 'education', values: [1, 2, 2, 3] }], { categorical: ['education'] }).features;
    assert.ok(f?.kind === 'categorical');
    assert.deepEqual(f.values, ['2', '1', '3']);
  });

  it('stays under 20 KB for 23 continuous features and survives a JSON round trip through the schema', () => {
    const rows = 20_000;
    const cols = 23;
    const data = new Float64Array(rows * cols);
    const random = createRandom(1);
    for (let i = 0; i < data.length; i++) data[i] = Math.exp(3 * random()) * 1000 * random();
    const names = Array.from({ length: cols }, (_, j) => `feature_${j}`);
    const profile = buildReferenceProfile(columnsFromMatrix(names, matrix(rows, cols, data)));
    const json = JSON.stringify(profile);
    assert.ok(json.length < 20_000, `profile is ${json.length} bytes`);
    assert.deepEqual(parseReferenceProfile(JSON.parse(json)), profile);
  });

  it('rejects a malformed stored profile', () => {
    assert.throws(() => parseReferenceProfile({ version: 1, rows: 1, options: { bins: 10, topK: 20, ecdfPoints: 33 }, features: [{ name: 'x', kind: 'numeric' }] }));
  });
});

describe('detectDrift', () => {
  const reference: FeatureColumn[] = [
    { name: 'income', values: normals(4000, 10, 50, 10) },
    { name: 'age', values: Array.from(normals(4000, 11, 40, 12), (v) => Math.round(v)) },
    { name: 'region', values: categories(4000, 12, { north: 5, south: 3, east: 2 }) },
  ];
  const profile = buildReferenceProfile(reference);

  /** A fresh sample of the reference distributions, with some columns replaced. */
  const sample = (n: number, seed: number, replace: Record<string, FeatureColumn['values']> = {}): FeatureColumn[] =>
    [
      { name: 'income', values: normals(n, seed, 50, 10) },
      { name: 'age', values: Array.from(normals(n, seed + 1, 40, 12), (v) => Math.round(v)) },
      { name: 'region', values: categories(n, seed + 2, { north: 5, south: 3, east: 2 }) },
    ].map((c) => ({ name: c.name, values: replace[c.name] ?? c.values }));

  it('reports no drift for a fresh sample of the same distributions', () => {
    const report = detectDrift(profile, sample(1000, 20), { pValueThreshold: 0.001 });
    assert.equal(report.drifted, false);
    assert.deepEqual(report.driftedFeatures, []);
    for (const f of report.features) assert.ok(f.psi < 0.05, `${f.name} PSI ${f.psi}`);
  });

  it('flags shifted features and the dataset once enough of them drift', () => {
    const current = sample(1000, 20, { income: normals(1000, 20, 60, 10), region: categories(1000, 22, { north: 1, south: 3, east: 6 }) });
    const report = detectDrift(profile, current);
    assert.deepEqual(report.driftedFeatures, ['income', 'region']);
    close(report.driftedShare, 2 / 3);
    assert.equal(report.drifted, true);
    const income = report.features[0]!;
    assert.ok(income.kind === 'numeric' && income.ks.statistic > 0.3 && income.ks.pValue < 1e-10);
    const region = report.features[2]!;
    assert.ok(region.kind === 'categorical' && region.jensenShannon > 0.2 && region.chiSquare.pValue < 1e-10);
  });

  it('computes the exact KS statistic from the profile when the feature has few distinct values', () => {
    const current = Array.from(normals(700, 30, 42, 12), (v) => Math.round(v));
    const report = detectDrift(profile, sample(700, 30, { age: current }));
    const age = report.features[1]!;
    assert.ok(age.kind === 'numeric' && age.ks.source === 'profile');
    // Exact up to the 1e-5 rounding of stored CDF values.
    close(age.ks.statistic, ksTwoSample(reference[1]!.values as number[], current).statistic, 1e-5);
  });

  it('bounds the raw-sample KS statistic from below for a continuous feature', () => {
    for (const seed of [40, 41, 42]) {
      const current = normals(800, seed, 50.5, 10);
      const fromProfile = detectDrift(profile, sample(800, seed, { income: current })).features[0]!;
      const raw = ksTwoSample(reference[0]!.values as Float64Array, current).statistic;
      assert.ok(fromProfile.kind === 'numeric');
      assert.ok(fromProfile.ks.statistic <= raw + 1e-6 && fromProfile.ks.statistic > raw - 1 / 32, `${fromProfile.ks.statistic} vs ${raw}`);
    }
  });

  it('uses raw reference samples for an exact KS test when they are given', () => {
    const current = normals(500, 50, 51, 10);
    const report = detectDrift(profile, sample(500, 50, { income: current }), { reference });
    const income = report.features[0]!;
    assert.ok(income.kind === 'numeric' && income.ks.source === 'raw');
    assert.equal(income.ks.statistic, ksTwoSample(reference[0]!.values as Float64Array, current).statistic);
  });

  it('counts a jump in missing values as drift', () => {
    const income = normals(1000, 60, 50, 10).map((v, i) => (i % 2 === 0 ? NaN : v));
    const report = detectDrift(profile, sample(1000, 60, { income }));
    const f = report.features[0]!;
    assert.ok(f.psi > 0.2 && f.drifted, `PSI ${f.psi}`);
    assert.equal(f.missingRate.current, 0.5);
  });

  it('maps categories the reference never saw to "other"', () => {
    const region = categories(1000, 70, { north: 5, south: 3, west: 2 });
    const f = detectDrift(profile, sample(1000, 70, { region })).features[2]!;
    assert.ok(f.kind === 'categorical');
    assert.equal(f.otherRate.reference, 0);
    assert.ok(f.otherRate.current > 0.15 && f.drifted);
  });

  it('flags a feature on the p-value only when a p-value threshold is set', () => {
    // A 0.15 sd shift: PSI well under 0.2 but a KS p-value far below 0.01 at these sample sizes.
    const shifted = sample(3000, 80, { income: normals(3000, 80, 51.5, 10) });
    assert.equal(detectDrift(profile, shifted).features[0]!.drifted, false);
    assert.equal(detectDrift(profile, shifted, { pValueThreshold: 0.01 }).features[0]!.drifted, true);
  });

  it('refuses a current sample that lacks a profiled feature', () => {
    assert.throws(() => detectDrift(profile, sample(10, 90).slice(0, 2)), /no column "region"/);
  });
});
