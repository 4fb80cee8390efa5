import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRandom } from '../data/random.js';
import { compareAucIndependent, compareAucPaired, delongAuc } from '../metrics/delong.js';
import { alwaysValidInterval } from './always-valid.js';
import { groupedAucDifferenceIndependent, groupedAucDifferencePaired, groupedDelongAuc, type ScoreHistogram } from './grouped-delong.js';
import { sampleRatioMismatch } from './srm.js';

const close = (actual: number, expected: number, tolerance = 1e-12): void => {
  assert.ok(Math.abs(actual - expected) <= tolerance, `expected ${expected} ± ${tolerance}, got ${actual}`);
};

function histogram(y: ArrayLike<number>, scores: ArrayLike<number>): ScoreHistogram {
  const m = new Map<number, [number, number]>();
  for (let i = 0; i < y.length; i++) {
    const e = m.get(scores[i]!) ?? [0, 0];
    e[y[i] === 1 ? 0 : 1]++;
    m.set(scores[i]!, e);
  }
  const s = [...m.keys()];
  return { scores: s, positives: s.map((k) => m.get(k)![0]), negatives: s.map((k) => m.get(k)![1]) };
}

function pairedCounts(y: number[], a: number[], b: number[]) {
  const m = new Map<string, { a: number; b: number; y: number; c: number }>();
  y.forEach((label, i) => {
    const k = `${a[i]}|${b[i]}|${label}`;
    const e = m.get(k) ?? { a: a[i]!, b: b[i]!, y: label, c: 0 };
    e.c++;
    m.set(k, e);
  });
  const g = [...m.values()];
  return { scoresA: g.map((e) => e.a), scoresB: g.map((e) => e.b), labels: g.map((e) => e.y), counts: g.map((e) => e.c) };
}

// The hand-worked example of delong.test.ts: rows 0–2 positive, 3–5 negative.
// A: AUC 5/6, Var 1/27; B: AUC 8/9, Var 2/81; paired Var(B − A) = 13/162.
const y = [1, 1, 1, 0, 0, 0];
const scoresA = [0.8, 0.6, 0.4, 0.5, 0.4, 0.1];
const scoresB = [0.7, 0.3, 0.9, 0.2, 0.6, 0.1];

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** A scored sample from one fixed "model": the score depends on the label plus noise, rounded to 1e-4 like the SQL side. */
function sample(random: () => number, n: number, signal = 1.2): { y: number[]; s: number[] } {
  const ys: number[] = [];
  const ss: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = random() < 0.3 ? 1 : 0;
    const noise = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    ys.push(label);
    ss.push(Math.round(sigmoid(-1 + signal * label + noise) * 1e4) / 1e4);
  }
  return { y: ys, s: ss };
}

describe('DeLong from score counts', () => {
  it('reproduces the hand-worked AUCs and variances', () => {
    const a = groupedDelongAuc(histogram(y, scoresA));
    close(a.auc, 5 / 6);
    close(a.variance, 1 / 27);
    const b = groupedDelongAuc(histogram(y, scoresB));
    close(b.auc, 8 / 9);
    close(b.variance, 2 / 81);
    const paired = groupedAucDifferencePaired(pairedCounts(y, scoresA, scoresB));
    close(paired.difference, 8 / 9 - 5 / 6);
    close(paired.variance, 13 / 162);
  });

  it('equals DeLong on the rows themselves, tied scores included', () => {
    const random = createRandom(11);
    const a = sample(random, 3000);
    const b = sample(random, 2500, 0.8);
    const raw = delongAuc(a.y, a.s);
    const grouped = groupedDelongAuc(histogram(a.y, a.s));
    close(grouped.auc, raw.auc, 1e-12);
    close(grouped.variance, raw.variance, 1e-12);
    const ind = groupedAucDifferenceIndependent(histogram(a.y, a.s), histogram(b.y, b.s));
    const rawInd = compareAucIndependent({ y: a.y, scores: a.s }, { y: b.y, scores: b.s });
    close(ind.difference, rawInd.difference, 1e-12);
    close(ind.standardError, rawInd.standardError, 1e-12);
    // Paired: a second model on the same rows (coarser scores make many tied pairs).
    const other = a.s.map((s, i) => Math.round((s * 0.7 + 0.3 * ((i * 7919) % 100) / 100) * 100) / 100);
    const p = groupedAucDifferencePaired(pairedCounts(a.y, a.s, other));
    const rawP = compareAucPaired(a.y, a.s, other);
    close(p.difference, rawP.difference, 1e-12);
    close(p.standardError, rawP.standardError, 1e-12);
    close(p.pValue, rawP.pValue, 1e-9);
  });

  it('refuses a histogram with a single class', () => {
    assert.throws(() => groupedDelongAuc({ scores: [0.1, 0.2], positives: [0, 0], negatives: [3, 4] }), /at least 2 positives/);
  });
});

describe('sample ratio mismatch', () => {
  it('gives the published p-value of a 50/50 experiment with 821,588 vs 815,482 users', () => {
    // Kohavi, Tang & Xu, "Trustworthy Online Controlled Experiments" (2020), ch. 21: p ≈ 1.8e-6.
    const t = sampleRatioMismatch([821_588, 815_482], [0.5, 0.5]);
    close(t.statistic, 22.774369, 1e-5);
    close(t.pValue, 1.8218e-6, 1e-9);
    assert.equal(t.dof, 1);
  });

  it('tests against unequal shares and finds no mismatch when the counts follow them', () => {
    const t = sampleRatioMismatch([9_000, 1_000], [0.9, 0.1]);
    assert.equal(t.statistic, 0);
    assert.equal(t.pValue, 1);
    assert.ok(sampleRatioMismatch([5_000, 5_000], [0.9, 0.1]).pValue < 1e-10);
  });
});

describe('always-valid interval (mSPRT, normal mixture)', () => {
  it('matches the closed form for an estimate of 0.05 with variance 4e-4 and τ = 0.05', () => {
    // radius = √(V(V+τ²)/τ² · (2 ln 20 + ln((V+τ²)/V))) = 0.0608212; 1/Λ(0) = 0.1820517.
    const r = alwaysValidInterval(0.05, 0.0004, { alpha: 0.05, mixtureSd: 0.05 });
    close(r.interval[0], 0.05 - 0.0608212, 1e-6);
    close(r.interval[1], 0.05 + 0.0608212, 1e-6);
    close(r.pValue, 0.1820517, 1e-6);
    const fixed = 1.959964 * Math.sqrt(0.0004);
    assert.ok(r.interval[1] - 0.05 > fixed, 'wider than the fixed-horizon interval, the price of looking at will');
  });

  it('keeps false promotions below alpha on A/A experiments looked at 20 times, where repeated fixed-horizon intervals do not', (t) => {
    // 400 simulated A/A experiments (both arms the same model), each looked at 20 times as its
    // labels grow from 100 to 2,000 per arm. "Promote" = the interval of AUC(B) − AUC(A) lies above 0.
    const random = createRandom(20_171_207);
    const experiments = 400;
    const looks = 20;
    const perLook = 100;
    let alwaysValidPromotions = 0;
    let fixedPromotions = 0;
    for (let e = 0; e < experiments; e++) {
      const arms = [new Map<number, [number, number]>(), new Map<number, [number, number]>()];
      let promotedAv = false;
      let promotedFixed = false;
      for (let look = 0; look < looks; look++) {
        for (const arm of arms) {
          const { y: ys, s } = sample(random, perLook);
          ys.forEach((label, i) => {
            const c = arm.get(s[i]!) ?? [0, 0];
            c[label === 1 ? 0 : 1]++;
            arm.set(s[i]!, c);
          });
        }
        const h = arms.map((m) => {
          const s = [...m.keys()];
          return { scores: s, positives: s.map((k) => m.get(k)![0]), negatives: s.map((k) => m.get(k)![1]) };
        });
        const d = groupedAucDifferenceIndependent(h[0]!, h[1]!);
        if (alwaysValidInterval(d.difference, d.variance, { alpha: 0.05 }).interval[0] > 0) promotedAv = true;
        if (d.confidenceInterval[0] > 0) promotedFixed = true;
      }
      if (promotedAv) alwaysValidPromotions++;
      if (promotedFixed) fixedPromotions++;
    }
    const share = alwaysValidPromotions / experiments;
    t.diagnostic(`false promotions: always-valid ${share}, fixed-horizon ${fixedPromotions / experiments}`);
    assert.ok(share < 0.05, `always-valid false promotions ${share}`);
    // The fixed-horizon interval is one-sided 2.5 % per look; peeking 20 times inflates it well past that.
    assert.ok(fixedPromotions / experiments > 0.05, `fixed-horizon false promotions ${fixedPromotions / experiments}`);
  });
});
