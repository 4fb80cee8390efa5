import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cronProblem, nextOccurrence, occurrencesBetween } from './cron.js';

describe('cron', () => {
  it('accepts five fields and six with seconds, and names the bad field otherwise', () => {
    assert.equal(cronProblem('0 3 * * *'), null);
    assert.equal(cronProblem('*/5 * * * * *'), null);
    assert.match(cronProblem('61 * * * *')!, /minute/);
    assert.match(cronProblem('every day')!, /fields/);
  });

  it('computes the next occurrence in UTC, strictly after the given time', () => {
    assert.equal(nextOccurrence('0 3 * * *', new Date('2026-01-01T03:00:00Z')).toISOString(), '2026-01-02T03:00:00.000Z');
    assert.equal(nextOccurrence('*/2 * * * * *', new Date('2026-01-01T00:00:00.500Z')).toISOString(), '2026-01-01T00:00:02.000Z');
  });

  it('counts the occurrences in a window, with the first and the latest', () => {
    const r = occurrencesBetween('*/10 * * * * *', new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:01:00Z'));
    assert.deepEqual({ count: r.count, capped: r.capped }, { count: 6, capped: false });
    assert.equal(r.first!.toISOString(), '2026-01-01T00:00:10.000Z');
    assert.equal(r.latest!.toISOString(), '2026-01-01T00:01:00.000Z');
  });

  it('caps a long window and says the count is a lower bound, still finding the latest', () => {
    const r = occurrencesBetween('* * * * * *', new Date('2026-01-01T00:00:00Z'), new Date('2026-01-03T00:00:00Z'), { maxWindowMs: 3_600_000 });
    assert.equal(r.capped, true);
    assert.equal(r.count, 3_600);
    assert.equal(r.latest!.toISOString(), '2026-01-03T00:00:00.000Z');
  });
});
