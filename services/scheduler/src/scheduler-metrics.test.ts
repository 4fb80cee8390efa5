import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createSchedulerMetrics } from './scheduler-metrics.js';

describe('scheduler metrics', () => {
  it('report, per DAG and step, how far the longest-running attempt is past its timeout', async () => {
    const registry = new Registry();
    let steps = [
      { dag: 'retrain', step: 'train', overdueSeconds: -30 },
      { dag: 'retrain', step: 'train', overdueSeconds: 95.5 },
      { dag: 'drift', step: 'compare', overdueSeconds: -600 },
    ];
    createSchedulerMetrics(registry, { runningSteps: () => 0, lastSuccess: async () => [], stepsOverdue: async () => steps });
    const text = await registry.metrics();
    assert.match(text, /^scheduler_step_overdue_seconds\{dag="retrain",step="train"\} 95\.5$/m);
    assert.match(text, /^scheduler_step_overdue_seconds\{dag="drift",step="compare"\} -600$/m);
    steps = [];
    assert.doesNotMatch(await registry.metrics(), /^scheduler_step_overdue_seconds\{/m, 'a step that finished leaves no series');
  });
});
