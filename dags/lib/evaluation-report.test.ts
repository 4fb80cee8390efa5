import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, type ArmReport, type EvaluationStats } from './evaluation-report.js';

const arm = (o: Partial<ArmReport> = {}): ArmReport => ({
  version: 1,
  predictions: 5000,
  entities: 5000,
  labelled: 1000,
  positiveRate: 0.22,
  auc: 0.75,
  aucInterval: [0.72, 0.78],
  logLoss: 0.45,
  brier: 0.14,
  fallbackRate: 0.001,
  p99LatencyMs: 12,
  ...o,
});

function stats(interval: [number, number], o: { champion?: Partial<ArmReport>; challenger?: Partial<ArmReport>; srmP?: number } = {}): EvaluationStats {
  const d = (interval[0] + interval[1]) / 2;
  return {
    mode: 'split',
    arms: { champion: arm(o.champion), challenger: arm({ version: 2, auc: 0.75 + d, ...o.challenger }) },
    comparison: {
      metric: 'auc',
      method: 'delong-independent',
      rows: 2000,
      difference: d,
      fixedHorizon: { interval: [d - 0.01, d + 0.01], pValue: 0.01, confidenceLevel: 0.95 },
      alwaysValid: { method: 'msprt-normal-mixture', interval, pValue: 0.02, alpha: 0.05, mixtureSd: 0.05 },
    },
    srm: { entities: [5000, 5000], expectedShare: 0.5, statistic: 0, pValue: o.srmP ?? 1, flagged: (o.srmP ?? 1) < 0.001 },
  };
}

const policy = { minLabelledPerArm: 300, maxDays: 14, fallbackRateMargin: 0.01, p99LatencyMarginMs: 25 };

describe('the evaluation policy', () => {
  it('promotes when the always-valid interval lies above 0, with the numbers in the reason', () => {
    const d = decide(stats([0.004, 0.03]), 2, policy);
    assert.equal(d.verdict, 'promote');
    assert.match(d.reasons[0]!, /AUC 0\.767 vs champion 0\.750 \(Δ \+0\.017, always-valid 95% CI \+0\.004…\+0\.030 \[mSPRT\]/);
  });

  it('rolls back when the interval lies below 0', () => {
    assert.equal(decide(stats([-0.05, -0.01]), 2, policy).verdict, 'rollback');
  });

  it('continues while the interval holds 0, and is inconclusive past maxDays', () => {
    assert.equal(decide(stats([-0.01, 0.02]), 2, policy).verdict, 'continue');
    assert.equal(decide(stats([-0.01, 0.02]), 14, policy).verdict, 'inconclusive');
  });

  it('continues with too few labels whatever the interval says', () => {
    const d = decide(stats([0.01, 0.05], { challenger: { labelled: 299 } }), 1, policy);
    assert.equal(d.verdict, 'continue');
    assert.match(d.reasons[0]!, /too few labels: 299 vs 1000 labelled \(minLabelledPerArm 300\)/);
  });

  it('never promotes on a sample ratio mismatch', () => {
    const d = decide(stats([0.01, 0.05], { srmP: 1e-6 }), 1, policy);
    assert.equal(d.verdict, 'continue');
    assert.match(d.reasons[0]!, /sample ratio mismatch/);
  });

  it('rolls back a challenger that breaks a guardrail, even one that ranks better', () => {
    const slow = decide(stats([0.01, 0.05], { challenger: { p99LatencyMs: 40 } }), 1, policy);
    assert.equal(slow.verdict, 'rollback');
    assert.equal(slow.guardrails.p99LatencyMs.ok, false);
    assert.match(slow.reasons[0]!, /p99 latency 40\.0 ms vs champion 12\.0 ms \(margin 25 ms\)/);
    const failing = decide(stats([0.01, 0.05], { challenger: { fallbackRate: 0.02 } }), 1, policy);
    assert.equal(failing.verdict, 'rollback');
    assert.equal(decide(stats([0.01, 0.05], { challenger: { p99LatencyMs: 37 } }), 1, policy).verdict, 'promote', 'within the margin');
  });
});
