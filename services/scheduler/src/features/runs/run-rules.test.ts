import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { missedRunPlan, overlapReason } from './run-rules.js';

describe('run rules', () => {
  it('lets a run start below maxActiveRuns and says why it is skipped at it', () => {
    assert.equal(overlapReason('retrain', 'credit', 0, 1), null);
    assert.equal(overlapReason('score', 'credit', 1, 2), null);
    assert.equal(overlapReason('retrain', 'credit', 1, 1), 'overlap: 1 run of retrain for credit already active (maxActiveRuns 1)');
    assert.equal(overlapReason('score', 'credit', 2, 2), 'overlap: 2 runs of score for credit already active (maxActiveRuns 2)');
  });

  const missed = (count: number, capped = false) => ({
    count,
    capped,
    first: count ? new Date('2026-01-01T00:00:00Z') : null,
    latest: count ? new Date('2026-01-01T05:00:00Z') : null,
  });

  it('records nothing when nothing was missed', () => {
    assert.equal(missedRunPlan(missed(0), 'skip'), null);
    assert.equal(missedRunPlan(missed(0), 'once'), null);
  });

  it('skips the latest missed occurrence by default, counting them all', () => {
    const plan = missedRunPlan(missed(6), undefined)!;
    assert.equal(plan.scheduledFor.toISOString(), '2026-01-01T05:00:00.000Z');
    assert.equal(plan.skipReason, 'missed: 6 occurrences from 2026-01-01T00:00:00.000Z to 2026-01-01T05:00:00.000Z passed with no scheduler replica up to claim them (missedRuns: skip)');
  });

  it('runs the latest once under missedRuns: once, and says when the count is a lower bound', () => {
    const plan = missedRunPlan(missed(100_000, true), 'once')!;
    assert.equal(plan.skipReason, undefined);
    assert.match(plan.cause, /^missed: at least 100000 occurrences .*; the latest runs once \(missedRuns: once\)$/);
  });
});
