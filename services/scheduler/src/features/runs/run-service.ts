import { TriggerRunRequest, type Run, type RunSummary } from '@contender/contracts';
import type { DagDefinition } from '@contender/pipeline';
import { AppError, NotFoundError, ValidationError, parseOrThrow, withTransaction, type Logger, type Pool, type Queryable } from '@contender/platform';
import { stepPolicy, type DagCatalog } from '../dags/dag-catalog.js';
import type { StepDispatcher } from '../../runner/step-dispatcher.js';
import type { SchedulerMetrics } from '../../scheduler-metrics.js';
import type { PgRunStore, RunFilter } from './pg-run-store.js';
import { overlapReason } from './run-rules.js';

export interface CreateRunRequest {
  dag: DagDefinition;
  model: string;
  /** as given; parsed with the DAG's schema here */
  params: unknown;
  trigger: string;
  cause: string | null;
  scheduledFor: Date;
  createdBy: string | null;
  triggerKey?: string | null;
  /** overrides the overlap rule's verdict: the run is recorded as skipped with this reason */
  skipReason?: string;
  /** `params` failing the schema: 'throw' (a 400 to the caller) or 'record' (a failed run, for schedules) */
  onBadParams: 'throw' | 'record';
}

export interface CreatedRun {
  runId: number;
  created: boolean;
  status: Run['status'];
}

export interface RunServiceDeps {
  pool: Pool;
  store: PgRunStore;
  catalog: DagCatalog;
  dispatcher: StepDispatcher;
  metrics: SchedulerMetrics;
  logger: Logger;
  leaseMs: number;
}

export class RunNotFoundError extends NotFoundError {
  constructor(id: string) {
    super(`no run ${id}`, 'run_not_found');
  }
}

/** Runs: creation under the overlap rule, reads, cancel. */
export class RunService {
  constructor(private readonly d: RunServiceDeps) {}

  /** A manual trigger (POST /dags/:dag/runs). */
  async trigger(dagId: string, input: unknown, by: string): Promise<CreatedRun> {
    const dag = this.d.catalog.get(dagId);
    const body = parseOrThrow(TriggerRunRequest, input);
    return withTransaction(this.d.pool, (tx) =>
      this.create(tx, { dag, model: body.model, params: body.params ?? {}, trigger: 'manual', cause: null, scheduledFor: new Date(), createdBy: by, onBadParams: 'throw' }),
    );
  }

  /**
   * Creates a run in `tx`: queued and dispatched, or `skipped` when maxActiveRuns runs of this DAG
   * and model are active. Returns `created: false` when a unique key (the occurrence, the trigger
   * key) says it exists already.
   */
  async create(tx: Queryable, r: CreateRunRequest): Promise<CreatedRun> {
    let params: Record<string, unknown>;
    let badParams: unknown;
    try {
      params = this.d.catalog.parseParams(r.dag, r.params);
    } catch (err) {
      if (r.onBadParams === 'throw' || !(err instanceof ValidationError)) throw err;
      params = (r.params ?? {}) as Record<string, unknown>;
      badParams = { message: `params do not fit the DAG's schema: ${err.message}`, details: err.details };
    }
    await this.d.store.lockDagModel(tx, r.dag.id, r.model);
    if (r.triggerKey) {
      const existing = await this.d.store.idByTriggerKey(tx, r.triggerKey);
      if (existing !== null) return { runId: existing, created: false, status: 'queued' };
    }
    const max = this.d.catalog.maxActiveRuns(r.dag);
    let status: 'queued' | 'skipped' | 'failed' = 'queued';
    let reason: string | null = null;
    if (badParams) status = 'failed';
    else if (r.skipReason) {
      status = 'skipped';
      reason = r.skipReason;
    } else {
      const overlap = overlapReason(r.dag.id, r.model, await this.d.store.countActive(tx, r.dag.id, r.model), max);
      if (overlap) {
        status = 'skipped';
        reason = overlap;
      }
    }
    const id = await this.d.store.insert(tx, {
      dag: r.dag.id,
      model: r.model,
      trigger: r.trigger,
      cause: r.cause,
      scheduledFor: r.scheduledFor,
      status,
      reason,
      params,
      steps: r.dag.steps.map((s) => s.name),
      triggerKey: r.triggerKey ?? null,
      createdBy: r.createdBy,
      leaseMs: this.d.leaseMs,
      ...(badParams ? { error: badParams } : {}),
    });
    if (id === null) return { runId: (r.triggerKey && (await this.d.store.idByTriggerKey(tx, r.triggerKey))) || 0, created: false, status };
    if (status === 'queued') {
      await this.d.dispatcher.dispatch(tx, { runId: id, step: r.dag.steps[0]!.name, seq: 1 }, stepPolicy(r.dag.steps[0]!));
    } else {
      // Counted at once: nothing else will finish these runs.
      this.d.metrics.finished(r.dag.id, status, null);
    }
    return { runId: id, created: true, status };
  }

  async get(id: string): Promise<Run> {
    const n = parseRunId(id);
    const run = n === null ? null : await this.d.store.get(this.d.pool, n);
    if (!run) throw new RunNotFoundError(id);
    return run;
  }

  async list(f: Omit<RunFilter, 'before'> & { cursor?: string }): Promise<{ items: RunSummary[]; nextCursor: string | null }> {
    const items = await this.d.store.list(this.d.pool, { ...f, ...(f.cursor ? { before: Number(f.cursor) } : {}) });
    return { items, nextCursor: items.length === f.limit ? items[items.length - 1]!.id : null };
  }

  /**
   * Cancels a run. Nobody executing it (queued, between steps, waiting out a backoff): cancelled
   * at once. A step running on some replica: the flag is set, and that replica's heartbeat aborts
   * the step and ends the run as cancelled. A finished run: 409.
   */
  async cancel(id: string): Promise<Run> {
    const n = parseRunId(id);
    if (n === null) throw new RunNotFoundError(id);
    await withTransaction(this.d.pool, async (tx) => {
      const state = await this.d.store.lockState(tx, n);
      if (!state) throw new RunNotFoundError(id);
      if (state.status !== 'queued' && state.status !== 'running') {
        throw new AppError(409, 'run_finished', `run ${id} has already ended (${state.status})`);
      }
      await this.d.store.requestCancel(tx, n);
      if (state.leaseOwner === null || state.leaseExpired) {
        await this.d.store.finish(tx, n, { status: 'cancelled', error: { message: 'cancelled' }, openSteps: 'cancelled' });
        this.d.metrics.finished(state.dag, 'cancelled', state.startedAt);
      }
    });
    return this.get(id);
  }

  /** The latest run of a DAG, any model (GET /dags/:id). */
  latest(dag: string): Promise<RunSummary | null> {
    return this.d.store.latest(this.d.pool, dag);
  }

  /** The outputs of the latest `n` succeeded runs of `dag` for `model`, newest first (drift and evaluation reports). */
  latestSucceededOutputs(dag: string, model: string, n: number) {
    return this.d.store.latestSucceededOutputs(this.d.pool, dag, model, n);
  }
}

function parseRunId(id: string): number | null {
  return /^\d{1,15}$/.test(id) ? Number(id) : null;
}
