import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createReportMetrics } from './report-metrics.js';

export interface SchedulerMetrics {
  runsTotal: Counter<'dag' | 'status'>;
  runDuration: Histogram<'dag'>;
  stepRetries: Counter<'dag' | 'step'>;
  runsActive: Gauge;
  tickLag: Gauge;
  takeovers: Counter<'dag'>;
  /** a run reached a final status on this replica */
  finished(dag: string, status: string, startedAt: Date | null): void;
  /** a run succeeded on this replica with this output (the evaluation verdict counter) */
  succeeded(dag: string, model: string, output: unknown): void;
}

/** Run durations: seconds to hours (retrains take minutes; drift checks seconds). */
const RUN_DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400];

export function createSchedulerMetrics(
  registry: Registry,
  reads: {
    runningSteps: () => number;
    lastSuccess: () => Promise<Array<{ dag: string; model: string; at: Date }>>;
    /** steps executing now on any replica: seconds past their timeout (negative while within it) */
    stepsOverdue?: () => Promise<Array<{ dag: string; step: string; overdueSeconds: number }>>;
    /** the latest succeeded output of a DAG per model (drift and evaluation gauges) */
    latestReports?: (dag: 'drift' | 'evaluate') => Promise<Array<{ model: string; output: unknown }>>;
  },
): SchedulerMetrics {
  const reports = createReportMetrics(registry, reads.latestReports ?? (async () => []));
  const runsTotal = new Counter({
    name: 'scheduler_dag_runs_total',
    help: 'Runs that reached a final status (succeeded, failed, skipped, cancelled) on this replica, by DAG',
    labelNames: ['dag', 'status'] as const,
    registers: [registry],
  });
  const runDuration = new Histogram({
    name: 'scheduler_dag_run_duration_seconds',
    help: 'From a run start to its end (runs that started), by DAG',
    labelNames: ['dag'] as const,
    buckets: RUN_DURATION_BUCKETS,
    registers: [registry],
  });
  new Gauge({
    name: 'scheduler_dag_last_success_timestamp_seconds',
    help: 'When the latest succeeded run of each DAG and model finished (read from the database: the same on every replica)',
    labelNames: ['dag', 'model'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await reads.lastSuccess()) this.set({ dag: r.dag, model: r.model }, r.at.getTime() / 1000);
    },
  });
  new Gauge({
    name: 'scheduler_step_overdue_seconds',
    help: "Seconds the longest-running attempt of each executing step is past its timeout (negative while within it; read from the database: the same on every replica)",
    labelNames: ['dag', 'step'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const worst = new Map<string, { dag: string; step: string; v: number }>();
      for (const r of (await reads.stepsOverdue?.()) ?? []) {
        const k = `${r.dag}\u0000${r.step}`;
        const w = worst.get(k);
        if (!w || r.overdueSeconds > w.v) worst.set(k, { dag: r.dag, step: r.step, v: r.overdueSeconds });
      }
      for (const w of worst.values()) this.set({ dag: w.dag, step: w.step }, w.v);
    },
  });
  const stepRetries = new Counter({
    name: 'scheduler_step_retries_total',
    help: 'Failed step attempts that were retried after their backoff, by DAG and step',
    labelNames: ['dag', 'step'] as const,
    registers: [registry],
  });
  const runsActive = new Gauge({
    name: 'scheduler_runs_active',
    help: 'Runs with a step executing on this replica now (sum over replicas for the cluster)',
    registers: [registry],
    collect() {
      this.set(reads.runningSteps());
    },
  });
  const tickLag = new Gauge({
    name: 'scheduler_tick_lag_seconds',
    help: "Seconds from the latest occurrence's scheduled time to its claim in Postgres on this replica",
    registers: [registry],
  });
  const takeovers = new Counter({
    name: 'scheduler_run_takeovers_total',
    help: 'Runs this replica re-dispatched because the lease of the replica running them expired',
    labelNames: ['dag'] as const,
    registers: [registry],
  });
  return {
    runsTotal,
    runDuration,
    stepRetries,
    runsActive,
    tickLag,
    takeovers,
    succeeded: (dag, model, output) => reports.succeeded(dag, model, output),
    finished(dag, status, startedAt) {
      runsTotal.inc({ dag, status });
      if (startedAt) runDuration.observe({ dag }, Math.max(0, (Date.now() - startedAt.getTime()) / 1000));
    },
  };
}
