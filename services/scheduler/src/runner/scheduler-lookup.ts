import type { SchedulerLookup } from '@contender/pipeline';
import type { Pool } from '@contender/platform';
import type { PgRunStore } from '../features/runs/pg-run-store.js';
import type { PgScheduleStore } from '../features/schedules/pg-schedule-store.js';

/** What a step sees of the scheduler's own records as `ctx.scheduler`: schedules and runs, read-only. */
export function schedulerLookup(d: { pool: Pool; runs: PgRunStore; schedules: PgScheduleStore }): SchedulerLookup {
  return {
    async schedule(dag, model) {
      const [s] = await d.schedules.list(d.pool, { dag, model });
      return s ? { dag: s.dag, model: s.model, cron: s.cron, enabled: s.enabled, params: s.params } : null;
    },
    runs: (q) => d.runs.recent(d.pool, { ...q, limit: q.limit ?? 20 }),
  };
}
