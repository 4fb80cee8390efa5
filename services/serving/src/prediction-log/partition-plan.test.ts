import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { partitionDay, partitionName, planPartitions, utcDay } from './partition-plan.js';

describe('partition plan', () => {
  it('names a partition after its UTC day, whatever the hour', () => {
    assert.equal(partitionName(utcDay(new Date('2026-11-21T23:59:59.999Z'))), 'prediction_p20261121');
    assert.equal(partitionName(utcDay(new Date('2026-11-22T00:00:00.000Z'))), 'prediction_p20261122');
  });

  it('reads the day back from a partition name and ignores other names', () => {
    assert.deepEqual(partitionDay('prediction_p20261121'), new Date('2026-11-21T00:00:00Z'));
    assert.equal(partitionDay('prediction_default'), null);
    assert.equal(partitionDay('prediction_p20261341'), null);
  });

  it('plans today and the days ahead, across a month end', () => {
    const plan = planPartitions({ now: new Date('2026-11-29T15:00:00Z'), retentionDays: 30, daysAhead: 3, existing: [] });
    assert.deepEqual(plan.ahead.map(partitionName), [
      'prediction_p20261129',
      'prediction_p20261130',
      'prediction_p20261201',
      'prediction_p20261202',
    ]);
  });

  it('drops only partitions older than today minus the retention days', () => {
    const plan = planPartitions({
      now: new Date('2026-11-21T08:00:00Z'),
      retentionDays: 30,
      daysAhead: 1,
      existing: ['prediction_default', 'prediction_p20261022', 'prediction_p20261021', 'prediction_p20261001', 'prediction_p20261121'],
    });
    assert.deepEqual(plan.keepFrom, new Date('2026-10-22T00:00:00Z'));
    assert.deepEqual(plan.drop, ['prediction_p20261001', 'prediction_p20261021']);
  });
});
