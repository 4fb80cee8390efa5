import cron, { type ScheduledTask } from 'node-cron';
import { withTransaction, type Logger, type Pool } from '@contender/platform';
import { nextOccurrence, occurrencesBetween } from '../cron.js';
import type { DagCatalog } from '../features/dags/dag-catalog.js';
import { missedRunPlan } from '../features/runs/run-rules.js';
import type { RunService } from '../features/runs/run-service.js';
import type { PgScheduleStore, ScheduleRow } from '../features/schedules/pg-schedule-store.js';
import type { SchedulerMetrics } from '../scheduler-metrics.js';

export interface TickerDeps {
  pool: Pool;
  schedules: PgScheduleStore;
  runs: RunService;
  catalog: DagCatalog;
  metrics: SchedulerMetrics;
  logger: Logger;
  /** a run was created here: wake this replica's workers */
  onRunCreated: () => void;
  syncMs: number;
  missedGraceMs: number;
}

interface Ticking {
  cron: string;
  task: ScheduledTask;
}

const keyOf = (dag: string, model: string) => `${dag}\u0000${model}`;

/**
 * node-cron ticks every enabled schedule in every replica; each tick claims its occurrence in
 * Postgres (the run's unique (dag, model, scheduled_for), under the schedule's row lock), so one
 * replica creates the run and the others find it claimed. The schedules are re-read every
 * `syncMs` (a change made through another replica), and occurrences that no replica claimed
 * within `missedGraceMs` (every replica was down) follow the DAG's missed-run policy.
 */
export class ScheduleTicker {
  private readonly ticking = new Map<string, Ticking>();
  private timer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> | null = null;
  private pendingSync: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly d: TickerDeps) {}

  async start(): Promise<void> {
    await this.sync();
    this.timer = setInterval(() => void this.sync().catch((err: unknown) => this.d.logger.warn({ err }, 'schedule sync failed')), this.d.syncMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const t of this.ticking.values()) void t.task.destroy();
    this.ticking.clear();
  }

  /** Re-reads the schedules now (after a change through this replica), then catches up missed occurrences. */
  sync(): Promise<void> {
    // One sync at a time; one asked for during a sync runs after it (it may have read too early).
    this.pendingSync ??= (this.syncing ?? Promise.resolve())
      .catch(() => {})
      .then(() => {
        this.pendingSync = null;
        this.syncing = this.doSync().finally(() => (this.syncing = null));
        return this.syncing;
      });
    return this.pendingSync;
  }

  private async doSync(): Promise<void> {
    if (this.stopped) return;
    const enabled = (await this.d.schedules.list(this.d.pool, { enabledOnly: true })).filter((s) => this.d.catalog.find(s.dag));
    const wanted = new Map(enabled.map((s) => [keyOf(s.dag, s.model), s]));
    for (const [key, t] of this.ticking) {
      const s = wanted.get(key);
      if (!s || s.cron !== t.cron) {
        void t.task.destroy();
        this.ticking.delete(key);
      }
    }
    for (const [key, s] of wanted) {
      if (this.ticking.has(key) || this.stopped) continue;
      const { dag, model, cron: expression } = s;
      const onTick = (ctx: { date: Date }) =>
        this.claim(dag, model, expression, ctx.date).catch((err: unknown) => this.d.logger.error({ err, dag, model }, 'claiming an occurrence failed'));
      const task = cron.schedule(expression, onTick, { timezone: 'UTC', name: `${dag}/${model}`, suppressMissedWarning: true });
      // node-cron drops a tick that fires over a second late (event loop stalled) as "missed";
      // claiming it late still beats a run that never happens.
      task.on('execution:missed', onTick);
      this.ticking.set(key, { cron: expression, task });
    }
    for (const s of enabled) {
      if (this.stopped) return;
      await this.catchUp(s).catch((err: unknown) => this.d.logger.warn({ err, dag: s.dag, model: s.model }, 'catching up missed occurrences failed'));
    }
  }

  /** One tick: the occurrence at `scheduledFor` becomes a run unless another replica claimed it. */
  async claim(dagId: string, model: string, expression: string, scheduledFor: Date): Promise<void> {
    const dag = this.d.catalog.find(dagId);
    if (!dag || this.stopped) return;
    const created = await withTransaction(this.d.pool, async (tx) => {
      const s = await this.d.schedules.lock(tx, dagId, model);
      // Changed or disabled through another replica since this one last synced; or before the
      // schedule, or recorded as missed already. A second claim of one occurrence finds the run's
      // unique index.
      if (!s || !s.enabled || s.cron !== expression || scheduledFor.getTime() <= s.claimFloor.getTime()) return null;
      const r = await this.d.runs.create(tx, {
        dag,
        model,
        params: s.params,
        trigger: 'schedule',
        cause: null,
        scheduledFor,
        createdBy: 'schedule',
        onBadParams: 'record',
      });
      await this.d.schedules.cover(tx, dagId, model, scheduledFor);
      return r;
    });
    if (!created) return;
    this.d.metrics.tickLag.set(Math.max(0, (Date.now() - scheduledFor.getTime()) / 1000));
    if (created.created && created.status === 'queued') this.d.onRunCreated();
  }

  /**
   * Occurrences after the schedule's covered_until and older than the grace were claimed by no
   * replica. `skip` (default): the latest is recorded as a skipped run whose reason counts them
   * all; `once`: the latest runs, its cause saying how many were missed. Either way one run.
   */
  async catchUp(s: ScheduleRow): Promise<void> {
    const until = new Date(Date.now() - this.d.missedGraceMs);
    if (until.getTime() <= s.coveredUntil.getTime()) return;
    const dag = this.d.catalog.find(s.dag);
    if (!dag) return;
    // Nothing missed (the usual case): no lock, no write.
    if (nextOccurrence(s.cron, s.coveredUntil).getTime() > until.getTime()) return;
    let created = false;
    await withTransaction(this.d.pool, async (tx) => {
      const cur = await this.d.schedules.lock(tx, s.dag, s.model);
      if (!cur || !cur.enabled || until.getTime() <= cur.coveredUntil.getTime()) return;
      const missed = occurrencesBetween(cur.cron, cur.coveredUntil, until);
      const plan = missedRunPlan(missed, dag.missedRuns);
      if (plan) {
        const r = await this.d.runs.create(tx, {
          dag,
          model: cur.model,
          params: cur.params,
          trigger: 'schedule',
          cause: plan.cause,
          scheduledFor: plan.scheduledFor,
          createdBy: 'schedule',
          onBadParams: 'record',
          ...(plan.skipReason ? { skipReason: plan.skipReason } : {}),
        });
        created = r.created && r.status === 'queued';
        this.d.logger.warn({ dag: s.dag, model: s.model, missed: missed.count, policy: dag.missedRuns ?? 'skip' }, 'missed occurrences recorded');
      }
      await this.d.schedules.closeUntil(tx, s.dag, s.model, until);
    });
    if (created) this.d.onRunCreated();
  }
}
