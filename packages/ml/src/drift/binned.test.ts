import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRandom } from '../data/random.js';
import { categoricalDriftFromBins, driftVerdict, numericBinPlan, numericDriftFromBins, previousDouble, type NumericBinPlan } from './binned.js';
import { detectDrift } from './detect.js';
import { buildReferenceProfile, type NumericFeatureProfile } from './profile.js';
import { ksTwoSample } from './statistics.js';

const close = (actual: number, expected: number, tolerance: number): void => {
  assert.ok(Math.abs(actual - expected) <= tolerance, `expected ${expected} ± ${tolerance}, got ${actual}`);
};

function normals(n: number, seed: number, mean = 0, sd = 1): Float64Array {
  const random = createRandom(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + sd * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return out;
}

/** What the SQL side does: per value, the number of thresholds strictly below it (right-closed bins). */
function countBins(plan: NumericBinPlan, values: ArrayLike<number>): { bins: number[]; missing: number } {
  const bins = new Array<number>(plan.thresholds.length + 1).fill(0);
  let missing = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) {
      missing++;
      continue;
    }
    bins[plan.thresholds.filter((t) => t < v).length]!++;
  }
  return { bins, missing };
}

function handProfile(): NumericFeatureProfile {
  return {
    name: 'x',
    kind: 'numeric',
    count: 4,
    missingRate: 0,
    mean: 1.5,
    std: 1.29099,
    min: 0,
    max: 3,
    edges: [1, 2],
    proportions: [0.5, 0.25, 0.25],
    ecdf: { x: [0, 1, 2, 3], p: [0.25, 0.5, 0.75, 1], exact: true },
  };
}

describe('drift statistics from bin counts', () => {
  it('gives the largest double below a number', () => {
    assert.ok(previousDouble(1) < 1);
    assert.equal(previousDouble(1), 1 - Number.EPSILON / 2);
    assert.equal(previousDouble(-2), -2 - 2 * Number.EPSILON);
    assert.ok(previousDouble(0) < 0);
  });

  it('computes PSI and KS of a hand-worked example', () => {
    // Reference shares 0.5 / 0.25 / 0.25 over (−∞,1], (1,2], (2,∞); current values 1, 2, 3, 3:
    // shares 0.25 / 0.25 / 0.5, so PSI = (0.25−0.5)·ln(0.5) + (0.5−0.25)·ln 2 = ½ ln 2 ≈ 0.3466
    // (ε smoothing moves it by < 1e-3), and the current ECDF at 0, 1, 2, 3 is 0, ¼, ½, 1 against
    // ¼, ½, ¾, 1: KS = ¼.
    const profile = handProfile();
    const plan = numericBinPlan(profile);
    assert.deepEqual(plan.thresholds, [0, 1, 2, 3]);
    const d = numericDriftFromBins(profile, plan, countBins(plan, [1, 2, 3, 3]));
    close(d.psi, 0.5 * Math.log(2), 1e-3);
    assert.equal(d.ks.statistic, 0.25);
    assert.deepEqual(d.bins.current, [0.25, 0.25, 0.5, 0]);
    assert.notEqual(d.ks.pValue, null, 'four rows are few enough for a p-value');
  });

  it('counts an empty current bin with the documented epsilon instead of an infinite PSI', () => {
    const profile = handProfile();
    const plan = numericBinPlan(profile);
    const d = numericDriftFromBins(profile, plan, countBins(plan, [0.5, 0.5, 1.5, 1.5]));
    assert.ok(Number.isFinite(d.psi) && d.psi > 1, `PSI ${d.psi}`);
  });

  it('evaluates an atom of the ECDF sketch on both sides of its jump', () => {
    // A continuous feature with 30 % zeros: the sketch stores 0 twice (F(0⁻) = 0, F(0) = 0.3).
    const random = createRandom(7);
    const ref = Float64Array.from({ length: 5000 }, () => (random() < 0.3 ? 0 : 1 + random() * 1000));
    const profile = buildReferenceProfile([{ name: 'pay', values: ref }]).features[0] as NumericFeatureProfile;
    const zero = profile.ecdf.x.indexOf(0);
    assert.equal(profile.ecdf.x[zero + 1], 0, 'the atom is stored twice');
    const plan = numericBinPlan(profile);
    assert.equal(plan.thresholds[plan.ecdfThreshold[zero]!], previousDouble(0));
    // Current: the same shape but 60 % zeros. The jump at 0 is where KS sees it: F_cur(0) = 0.6 vs 0.3.
    const cur = Float64Array.from({ length: 5000 }, () => (random() < 0.6 ? 0 : 1 + random() * 1000));
    const d = numericDriftFromBins(profile, plan, countBins(plan, cur));
    close(d.ks.statistic, 0.3, 0.03);
  });

  it('agrees with detectDrift on raw samples: the same PSI, and a KS within one sketch step below the raw one', () => {
    const ref = normals(20_000, 1);
    const profile = buildReferenceProfile([{ name: 'x', values: ref }]);
    const feature = profile.features[0] as NumericFeatureProfile;
    const plan = numericBinPlan(feature);
    for (const [seed, shift] of [[2, 0], [3, 0.25], [4, 1]] as const) {
      const cur = normals(3000, seed, shift);
      const raw = detectDrift(profile, [{ name: 'x', values: cur }], { reference: [{ name: 'x', values: ref }] }).features[0]!;
      const binned = numericDriftFromBins(feature, plan, countBins(plan, cur));
      close(binned.psi, raw.psi, 1e-6);
      const rawKs = ksTwoSample(ref, cur).statistic;
      assert.ok(binned.ks.statistic <= rawKs + 1e-4, `binned KS ${binned.ks.statistic} above raw ${rawKs}`);
      assert.ok(binned.ks.statistic >= rawKs - 1 / 32, `binned KS ${binned.ks.statistic} far below raw ${rawKs}`);
      assert.equal(binned.ks.pValue, null, '3,000 rows: no p-value');
    }
  });

  it('computes categorical PSI and the Jensen–Shannon distance from category counts', () => {
    const profile = {
      name: 'c',
      kind: 'categorical' as const,
      count: 100,
      missingRate: 0,
      values: ['a', 'b'],
      proportions: [0.5, 0.5],
      other: 0,
    };
    const same = categoricalDriftFromBins(profile, { bins: [50, 50, 0], missing: 0 });
    close(same.psi, 0, 1e-12);
    close(same.jensenShannon, 0, 1e-12);
    // Current all "a": P = (½, ½), Q = (1, 0), M = (¾, ¼);
    // JSD = ½·(½ log₂(⅔) + ½ log₂ 2) + ½·log₂(4/3) = 3/2 − ¾ log₂ 3 ≈ 0.311278 bits.
    const shifted = categoricalDriftFromBins(profile, { bins: [100, 0, 0], missing: 0 });
    close(shifted.jensenShannon, Math.sqrt(1.5 - 0.75 * Math.log2(3)), 1e-6);
    assert.equal(shifted.otherRate.current, 0);
    assert.notEqual(shifted.chiSquare.pValue, null);
  });

  it('flags features by PSI and the model by the share of drifting features', () => {
    const o = { psiWarn: 0.1, psiDrift: 0.2, driftShare: 0.3 };
    const v = driftVerdict([{ name: 'a', psi: 0.25 }, { name: 'b', psi: 0.1 }, { name: 'c', psi: 0.01 }, { name: 'd', psi: 0.19 }], o);
    assert.deepEqual(v.driftedFeatures, ['a']);
    assert.deepEqual(v.warnedFeatures, ['b', 'd']);
    assert.equal(v.driftedShare, 0.25);
    assert.equal(v.drifted, false);
    assert.equal(driftVerdict([{ name: 'a', psi: 0.2 }, { name: 'b', psi: 0 }], o).drifted, true, 'PSI 0.2 drifts; 1 of 2 ≥ 0.3');
  });
});
