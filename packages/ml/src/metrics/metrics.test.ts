import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRandom } from '../data/random.js';
import { calibrationTable } from './calibration.js';
import { brierScore, logLoss } from './probability.js';
import { ksStatistic, midranks, rocAuc } from './ranking.js';
import { evaluateBinaryClassifier } from './report.js';
import { confusionMatrix, thresholdMetrics } from './threshold.js';

const close = (actual: number, expected: number, tolerance = 1e-12): void => {
  assert.ok(Math.abs(actual - expected) <= tolerance, `expected ${expected}, got ${actual}`);
};

/** AUC by its definition: the share of (positive, negative) pairs ordered correctly, ties ½. */
function pairwiseAuc(y: ArrayLike<number>, s: ArrayLike<number>): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== 1) continue;
    for (let j = 0; j < y.length; j++) {
      if (y[j] !== 0) continue;
      pairs++;
      if (s[i]! > s[j]!) wins += 1;
      else if (s[i] === s[j]) wins += 0.5;
    }
  }
  return wins / pairs;
}

function randomScores(n: number, seed: number, decimals: number): { y: Float64Array; s: Float64Array } {
  const random = createRandom(seed);
  const y = new Float64Array(n);
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = random() < 0.3 ? 1 : 0;
    // Rounding makes many ties; positives are shifted up so the AUC is not ~0.5.
    const raw = Math.min(1, random() * 0.8 + 0.2 * y[i]!);
    s[i] = Math.round(raw * 10 ** decimals) / 10 ** decimals;
  }
  return { y, s };
}

describe('midranks', () => {
  it('gives tied values the mean of the ranks they span', () => {
    assert.deepEqual([...midranks([10, 20, 20, 30])], [1, 2.5, 2.5, 4]);
    assert.deepEqual([...midranks([3, 1, 3, 3])], [3, 1, 3, 3]);
  });
});

describe('rocAuc', () => {
  it('is 1 for a perfect ranking and 0 for a reversed one', () => {
    assert.equal(rocAuc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]), 1);
    assert.equal(rocAuc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]), 0);
  });

  it('counts a tied positive–negative pair as half a correct ordering', () => {
    // Pairs (0.8,0.5)=1, (0.8,0.2)=1, (0.5,0.5)=½, (0.5,0.2)=1 → 3.5 / 4.
    assert.equal(rocAuc([1, 1, 0, 0], [0.8, 0.5, 0.5, 0.2]), 0.875);
    assert.equal(rocAuc([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5]), 0.5);
  });

  it('matches brute-force pairwise counting on data with many ties', () => {
    const { y, s } = randomScores(400, 7, 1);
    close(rocAuc(y, s), pairwiseAuc(y, s));
  });

  it('is NaN when only one class is present', () => {
    assert.ok(Number.isNaN(rocAuc([1, 1], [0.2, 0.4])));
  });

  it('rejects labels other than 0/1 and non-finite scores, naming the index', () => {
    assert.throws(() => rocAuc([0, 2], [0.1, 0.2]), /label at index 1 is 2/);
    assert.throws(() => rocAuc([0, 1], [0.1, NaN]), /scores at index 1 is NaN/);
    assert.throws(() => rocAuc([0, 1], [0.1]), /differ in length/);
  });
});

describe('logLoss', () => {
  it('is the mean negative log-likelihood of the observed labels', () => {
    const expected = -(Math.log(0.9) + Math.log(0.9) + Math.log(0.8) + Math.log(0.7)) / 4;
    close(logLoss([1, 0, 1, 0], [0.9, 0.1, 0.8, 0.3]), expected);
    close(expected, 0.19763488164214868, 1e-15);
  });

  it('clips probabilities so that a confident mistake costs −ln(1e-15) instead of infinity', () => {
    close(logLoss([1], [0]), -Math.log(1e-15));
    close(logLoss([0], [1]), -Math.log(1e-15));
    assert.ok(Number.isFinite(logLoss([1, 0], [0, 1])));
  });

  it('rejects probabilities outside [0, 1]', () => {
    assert.throws(() => logLoss([1], [1.2]), /probability at index 0 is 1.2/);
  });
});

describe('brierScore', () => {
  it('is the mean squared error of the probabilities', () => {
    // (0.01 + 0.01 + 0.04 + 0.09) / 4
    close(brierScore([1, 0, 1, 0], [0.9, 0.1, 0.8, 0.3]), 0.0375);
  });
});

describe('ksStatistic', () => {
  it('is the largest TPR − FPR over thresholds', () => {
    // Descending: 0.9(+) 0.8(+) 0.5(−) 0.4(−) 0.35(+) 0.1(−); after 0.8: TPR 2/3, FPR 0.
    close(ksStatistic([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.5, 0.9]), 2 / 3);
  });

  it('steps over tied scores together', () => {
    // One threshold cannot separate the tied 0.5s: TPR − FPR is 0 at 0.9, ½ after the tie, 0 at the end.
    close(ksStatistic([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.1]), 0.5);
  });
});

describe('thresholdMetrics', () => {
  it('predicts positive at or above the threshold and derives the ratios from the confusion matrix', () => {
    const y = [1, 1, 0, 0, 1];
    const p = [0.9, 0.4, 0.6, 0.2, 0.5];
    assert.deepEqual(confusionMatrix(y, p, 0.5), { truePositives: 2, falsePositives: 1, trueNegatives: 1, falseNegatives: 1 });
    const m = thresholdMetrics(y, p, 0.5);
    close(m.precision, 2 / 3);
    close(m.recall, 2 / 3);
    close(m.f1, 2 / 3);
    close(m.accuracy, 3 / 5);
  });

  it('reports precision as NaN rather than 0 when nothing is predicted positive', () => {
    const m = thresholdMetrics([1, 0], [0.2, 0.1], 0.5);
    assert.ok(Number.isNaN(m.precision));
    assert.equal(m.recall, 0);
    assert.ok(Number.isNaN(m.f1));
  });
});

describe('calibrationTable', () => {
  it('bins probabilities into equal-width bins with mean predicted and observed rate', () => {
    const table = calibrationTable([0, 1, 1, 1], [0.1, 0.2, 0.6, 1], { bins: 2 });
    assert.equal(table.bins.length, 2);
    const [low, high] = table.bins;
    assert.deepEqual([low!.lower, low!.upper, low!.count, low!.observedRate], [0, 0.5, 2, 0.5]);
    close(low!.meanPredicted, 0.15);
    close(high!.meanPredicted, 0.8);
    assert.equal(high!.observedRate, 1);
    // ECE = ½·|0.5 − 0.15| + ½·|1 − 0.8|; a probability of exactly 1 falls in the last bin
    close(table.expectedCalibrationError, 0.275);
  });

  it('leaves empty bins out', () => {
    const table = calibrationTable([0, 1], [0.05, 0.95], { bins: 10 });
    assert.deepEqual(table.bins.map((b) => b.count), [1, 1]);
  });

  it('makes quantile bins of equal size without splitting tied probabilities', () => {
    const even = calibrationTable([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4], { bins: 2, strategy: 'quantile' });
    assert.deepEqual(even.bins.map((b) => [b.count, b.lower, b.upper]), [[2, 0.1, 0.2], [2, 0.3, 0.4]]);
    const tied = calibrationTable([0, 0, 1, 1], [0.1, 0.1, 0.1, 0.9], { bins: 2, strategy: 'quantile' });
    assert.deepEqual(tied.bins.map((b) => b.count), [3, 1]);
  });
});

describe('evaluateBinaryClassifier', () => {
  it('collects every metric in one JSON-serialisable object', () => {
    const { y, s } = randomScores(200, 3, 3);
    const report = evaluateBinaryClassifier(y, s);
    close(report.auc, pairwiseAuc(y, s));
    assert.equal(report.rows, 200);
    assert.ok(report.aucConfidenceInterval && report.aucConfidenceInterval[0] < report.auc && report.auc < report.aucConfidenceInterval[1]);
    const json = JSON.parse(JSON.stringify(report)) as { calibration: { bins: unknown[] } };
    assert.ok(json.calibration.bins.length > 0);
  });
});
