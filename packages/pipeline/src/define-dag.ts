import type { z } from 'zod';
import type { RegistryClient, ServingClient } from '@contender/sdk';

/** What happens to occurrences missed while no replica was up: `skip` records them as skipped; `once` runs the latest one. */
export type MissedRunPolicy = 'skip' | 'once';

/** The pino-compatible subset a step logs with. */
export interface StepLogger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

/** Read access to the published tables (serving.prediction, serving.feedback): aggregate in SQL, never load a window. */
export interface ReadOnlyDb {
  query<R extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

export interface RunProgress {
  done: number;
  total?: number;
  /** what `done` counts, e.g. "rows" */
  unit?: string;
}

export interface TriggerRequest {
  dag: string;
  model: string;
  params?: Record<string, unknown>;
  /** how the run came about, e.g. "drift" */
  trigger: string;
  /** what caused it, e.g. "drift report 17" */
  cause?: string;
}

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

/** A schedule as the scheduler stores it (params as given, not parsed). */
export interface ScheduleInfo {
  dag: string;
  model: string;
  cron: string;
  enabled: boolean;
  params: Record<string, unknown>;
}

/** A run as the scheduler stores it, for DAGs that look at earlier runs (cooldowns, history). */
export interface RunSummary {
  id: string;
  dag: string;
  model: string;
  trigger: string;
  cause: string | null;
  status: RunStatus;
  scheduledFor: Date;
  /** when the run was created (queued) */
  createdAt: Date;
  /** the run's output, when it has one */
  output?: unknown;
}

/** Read access to the scheduler's own records (schedules and runs). */
export interface SchedulerLookup {
  /** The schedule of `dag` for `model`, or null when there is none. */
  schedule(dag: string, model: string): Promise<ScheduleInfo | null>;
  /** Runs of `dag` for `model`, newest first (by creation), filtered as asked; `limit` defaults to 20. */
  runs(q: { dag: string; model: string; trigger?: string; since?: Date; status?: readonly RunStatus[]; limit?: number }): Promise<RunSummary[]>;
}

export interface StepContext<P = unknown> {
  runId: string;
  dag: string;
  model: string;
  /** "schedule" | "manual" | "drift" | … */
  trigger: string;
  cause: string | null;
  /** when the occurrence was due (manual runs: when triggered) */
  scheduledFor: Date;
  /** the run's params, parsed by the DAG's schema (defaults applied) */
  params: P;
  /** the outputs of the steps that finished before this one, by step name (JSON, as stored) */
  outputs: Readonly<Record<string, unknown>>;
  /** 1 for the first attempt of this step in this run */
  attempt: number;
  /** aborted on the step's timeout, on cancel and on shutdown: long loops check it */
  signal: AbortSignal;
  logger: StepLogger;
  /** the registry, with the scheduler's own key */
  registry: RegistryClient;
  /** serving, with the scheduler's own key */
  serving: ServingClient;
  db: ReadOnlyDb;
  /** shown as `progress` in GET /runs/:id while the step runs (writes are throttled by the runner) */
  progress(p: RunProgress): void;
  /**
   * A key that is the same for every attempt of this step of this run, on any replica: pass it as
   * the registry's Idempotency-Key so that a retried or taken-over step never creates twice.
   */
  idempotencyKey(purpose: string): string;
  /** Queues a run of another DAG (drift → retrain). Returns `created: false` when an equal request was already made by this step. */
  triggerRun(req: TriggerRequest): Promise<{ runId: string; created: boolean }>;
  /** a folder of this attempt's own, removed when the step ends */
  tmpDir: string;
  /**
   * The scheduler's schedules and runs, read-only (drift: is there a retrain schedule, and was one
   * triggered within the cooldown). Optional, so that a runner without it still fits the contract;
   * a DAG that needs it says in its output that it could not look.
   */
  scheduler?: SchedulerLookup;
}

export interface StepDefinition<P = unknown> {
  name: string;
  /** Returns the step's output (JSON-serialisable: it is stored, and given to later steps after a takeover). */
  run(ctx: StepContext<P>): Promise<unknown>;
  /** retries after a failed attempt; the wait doubles each time from backoffMs (default: none) */
  retries?: { max: number; backoffMs: number };
  /** the attempt is aborted through ctx.signal after this long (default 30 minutes) */
  timeoutMs?: number;
}

export interface DagDefinition<S extends z.ZodType = z.ZodType> {
  id: string;
  description: string;
  /** the default schedule (node-cron syntax, optional seconds field, UTC) */
  cron: string;
  /** params with defaults; served as JSON Schema */
  params: S;
  steps: ReadonlyArray<StepDefinition<z.output<S>>>;
  /** runs of this DAG active at once per model (default 1) */
  maxActiveRuns?: number;
  missedRuns?: MissedRunPolicy;
  /** what the run's `output` is, from the steps' outputs (default: the last step's output) */
  output?(outputs: Readonly<Record<string, unknown>>): unknown;
}

/** Identity with types: `export default defineDag({ … })` in a module of dags/. */
export function defineDag<S extends z.ZodType>(dag: DagDefinition<S>): DagDefinition<S> {
  const names = new Set<string>();
  for (const s of dag.steps) {
    if (names.has(s.name)) throw new Error(`dag ${dag.id}: step name "${s.name}" is used twice`);
    names.add(s.name);
  }
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(dag.id)) throw new Error(`dag id "${dag.id}" must match ^[a-z][a-z0-9-]{0,62}$`);
  return dag;
}
