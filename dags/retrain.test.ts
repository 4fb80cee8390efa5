import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import retrain, { comparisonText, retrainParams } from './retrain.js';

describe('retrain', () => {
  it('words a comparison with the numbers, as audit reasons show them', () => {
    const text = comparisonText({
      rows: 4500,
      positives: 1000,
      candidate: { auc: 0.7812 },
      champion: { version: 3, auc: 0.7721, logLoss: 0.43 },
      comparison: { difference: 0.0091, confidenceInterval: [0.0031, 0.0151], pValue: 0.003, standardError: 0.003 },
    });
    assert.equal(text, 'AUC 0.781 vs champion 0.772 (Δ +0.009, 95% CI +0.003…+0.015, 4,500 rows)');
  });

  it('words a negative difference with a minus sign, and a first model without a champion', () => {
    const worse = comparisonText({
      rows: 900,
      positives: 200,
      candidate: { auc: 0.7 },
      champion: { version: 1, auc: 0.75, logLoss: 0.4 },
      comparison: { difference: -0.05, confidenceInterval: [-0.08, -0.02], pValue: 0.001, standardError: 0.015 },
    });
    assert.equal(worse, 'AUC 0.700 vs champion 0.750 (Δ -0.050, 95% CI -0.080…-0.020, 900 rows)');
    assert.equal(comparisonText({ rows: 900, positives: 200, candidate: { auc: 0.7 }, champion: null, comparison: null }), 'AUC 0.700 on 900 held-out rows, no champion before');
  });

  it("fills in contender train's defaults and names a bad param", () => {
    const p = retrainParams.parse({ dataset: 'taiwan@3', label: 'y' });
    assert.deepEqual(
      { algorithm: p.algorithm, gbdt: p.gbdt, logreg: p.logreg, includeFeedback: p.includeFeedback, minImprovement: p.minImprovement, challengerPercent: p.challengerPercent, mode: p.mode, replaceChallenger: p.replaceChallenger },
      {
        algorithm: 'gbdt',
        gbdt: { nTrees: 400, maxDepth: 6, learningRate: 0.03, minChildWeight: 10, subsample: 0.7, colsampleByTree: 0.5, lambda: 1, earlyStoppingRounds: 50 },
        logreg: { l2: 1, maxIter: 100 },
        includeFeedback: true,
        minImprovement: 0,
        challengerPercent: 10,
        mode: 'split',
        replaceChallenger: false,
      },
    );
    const bad = retrainParams.safeParse({ dataset: 'taiwan@x', label: 'y', challengerPercent: 101 });
    assert.equal(bad.success, false);
    assert.deepEqual(bad.error!.issues.map((i) => i.path.join('.')).sort(), ['challengerPercent', 'dataset']);
  });

  it('has the five steps in order', () => {
    assert.deepEqual(retrain.steps.map((s) => s.name), ['load', 'train', 'evaluate', 'register', 'decide']);
  });
});
