import { ModelName, PutScheduleRequest, type Schedule } from '@contender/contracts';
import { NotFoundError, ValidationError, parseOrThrow, withTransaction, type Pool } from '@contender/platform';
import { cronProblem, nextOccurrence } from '../../cron.js';
import type { DagCatalog } from '../dags/dag-catalog.js';
import type { PgScheduleStore, ScheduleRow } from './pg-schedule-store.js';

export interface ScheduleServiceDeps {
  pool: Pool;
  store: PgScheduleStore;
  catalog: DagCatalog;
  /** after a change here: this replica's ticker re-reads the schedules at once */
  changed: () => void;
  now?: () => Date;
}

/** Per-model schedules of the DAGs: the rules of PUT (defaults, validation, what is kept). */
export class ScheduleService {
  constructor(private readonly d: ScheduleServiceDeps) {}

  toSchedule(s: ScheduleRow): Schedule {
    const now = this.d.now?.() ?? new Date();
    return {
      dag: s.dag,
      model: s.model,
      cron: s.cron,
      params: s.params,
      enabled: s.enabled,
      nextRun: s.enabled ? nextOccurrence(s.cron, now).toISOString() : null,
      createdAt: s.createdAt.toISOString(),
      updatedAt: s.updatedAt.toISOString(),
      updatedBy: s.updatedBy,
    };
  }

  /**
   * Creates or changes the schedule of `dag` for `model`. Omitted fields keep their value (a new
   * schedule: the DAG's cron, `{}`, enabled). 404 for an unknown DAG; 400 naming `cron` or
   * `params.<field>`. Occurrences before a new schedule, a new cron or a re-enabling are not owed.
   */
  async put(dagId: string, model: string, input: unknown, by: string): Promise<{ schedule: Schedule; created: boolean }> {
    const dag = this.d.catalog.get(dagId);
    parseOrThrow(ModelName, model, 'model');
    const body = parseOrThrow(PutScheduleRequest, input);
    const result = await withTransaction(this.d.pool, async (tx) => {
      const existing = await this.d.store.lock(tx, dag.id, model);
      const cron = (body.cron ?? existing?.cron ?? dag.cron).trim();
      const problem = cronProblem(cron);
      if (problem) throw new ValidationError(`cron: ${problem}`, [{ path: 'cron', message: problem, code: 'invalid_cron' }]);
      const params = body.params ?? existing?.params ?? {};
      this.d.catalog.parseParams(dag, params);
      const enabled = body.enabled ?? existing?.enabled ?? true;
      const coverFromNow = !existing || cron !== existing.cron || (enabled && !existing.enabled);
      const row = await this.d.store.upsert(tx, { dag: dag.id, model, cron, params, enabled, by, coverFromNow });
      return { row, created: !existing };
    });
    this.d.changed();
    return { schedule: this.toSchedule(result.row), created: result.created };
  }

  async list(f: { dag?: string; model?: string } = {}): Promise<Schedule[]> {
    return (await this.d.store.list(this.d.pool, f)).map((s) => this.toSchedule(s));
  }

  async delete(dagId: string, model: string): Promise<void> {
    this.d.catalog.get(dagId);
    if (!(await this.d.store.delete(this.d.pool, dagId, model))) {
      throw new NotFoundError(`no schedule of ${dagId} for model ${model}`, 'schedule_not_found');
    }
    this.d.changed();
  }
}
