import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type PgBoss from 'pg-boss';
import type { DagDefinition, ReadOnlyDb, SchedulerLookup, StepContext, StepDefinition, TriggerRequest } from '@contender/pipeline';
import { withTransaction, type Logger, type Pool, type PoolClient } from '@contender/platform';
import type { RegistryClient, ServingClient } from '@contender/sdk';
import { stepPolicy, type DagCatalog, type StepPolicy } from '../features/dags/dag-catalog.js';
import type { PgRunStore, RunState } from '../features/runs/pg-run-store.js';
import type { RunService } from '../features/runs/run-service.js';
import type { SchedulerMetrics } from '../scheduler-metrics.js';
import { ProgressWriter } from './progress-writer.js';
import { STEP_QUEUE, maxRetryWaitMs, type StepDispatcher, type StepJob } from './step-dispatcher.js';

export interface RunnerConfig {
  leaseMs: number;
  heartbeatMs: number;
  concurrency: number;
  progressWriteMs: number;
  tmpDir?: string;
}

export interface RunnerDeps {
  pool: Pool;
  readOnlyDb: ReadOnlyDb;
  boss: PgBoss;
  store: PgRunStore;
  catalog: DagCatalog;
  dispatcher: StepDispatcher;
  runs: RunService;
  metrics: SchedulerMetrics;
  logger: Logger;
  registry: RegistryClient;
  serving: ServingClient;
  /** schedules and runs, read-only, as ctx.scheduler */
  lookup: SchedulerLookup;
  /** this replica's name in the leases it holds */
  owner: string;
  config: RunnerConfig;
}

type AbortKind = 'timeout' | 'cancel' | 'lease' | 'shutdown';

class StepAborted extends Error {
  constructor(readonly kind: AbortKind, message: string) {
    super(message);
  }
}

interface Execution {
  runId: number;
  abort(kind: AbortKind, message: string): void;
  done: Promise<void>;
}

interface Begun {
  run: RunState;
  dag: DagDefinition;
  step: StepDefinition;
  policy: StepPolicy;
  position: number;
  attempt: number;
  failures: number;
  outputs: Record<string, unknown>;
}

const isNamed = (err: unknown, name: string) => !!err && typeof err === 'object' && (err as { name?: string }).name === name;
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Runs steps taken from pg-boss, one pg-boss job per step attempt chain. pg-boss brings dispatch,
 * retries with exponential backoff and the job's expiry; what it lacks in 10.x is added here:
 * a lease on the run (owner, expires_at) renewed by a heartbeat while a step runs, and a sweep in
 * every replica that re-dispatches runs whose lease expired (their replica died), so a run resumes
 * within the lease at the step that had not finished. The heartbeat also reads the cancel flag.
 */
export class Runner {
  private workers: string[] = [];
  private readonly active = new Map<number, Execution>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping = false;
  private stopping: Promise<void> | null = null;
  private readonly tmpBase: string;

  constructor(private readonly d: RunnerDeps) {
    this.tmpBase = d.config.tmpDir ?? path.join(os.tmpdir(), 'contender-scheduler');
  }

  get runningSteps(): number {
    return this.active.size;
  }

  async start(): Promise<void> {
    await mkdir(this.tmpBase, { recursive: true });
    for (let i = 0; i < this.d.config.concurrency; i++) {
      const id = await this.d.boss.work<StepJob>(
        STEP_QUEUE,
        { includeMetadata: true, batchSize: 1, pollingIntervalSeconds: 0.5 },
        async ([job]) => {
          if (job) await this.handle(job);
        },
      );
      this.workers.push(id);
    }
    this.sweepTimer = setInterval(() => void this.sweep(), this.d.config.heartbeatMs);
    this.sweepTimer.unref();
  }

  /** Wakes this replica's idle workers now (a run was just created here) instead of at their next poll. */
  wake(): void {
    for (const w of this.workers) this.d.boss.notifyWorker(w);
  }

  /**
   * Stops claiming, lets the running steps finish for up to `graceMs`, then aborts the rest and
   * hands their runs back (lease released, re-dispatched) so another replica resumes them at once.
   * Idempotent.
   */
  stop(graceMs: number): Promise<void> {
    this.stopping ??= (async () => {
      if (this.sweepTimer) clearInterval(this.sweepTimer);
      await Promise.all(this.workers.map((id) => this.d.boss.offWork({ id }).catch(() => {})));
      const all = () => Promise.all([...this.active.values()].map((e) => e.done));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([all(), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
      for (const e of this.active.values()) e.abort('shutdown', 'the scheduler replica is shutting down');
      await all();
    })();
    return this.stopping;
  }

  private async handle(job: PgBoss.JobWithMetadata<StepJob>): Promise<void> {
    const { runId, step: stepName, seq } = job.data;
    if (this.stopping) {
      await this.handBack(runId, seq, stepName);
      return;
    }
    const begun = await withTransaction(this.d.pool, (tx) => this.begin(tx, job.data));
    if (!begun) return;
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    const ac = new AbortController();
    let kind: AbortKind | null = null;
    const abort = (k: AbortKind, message: string) => {
      if (kind) return;
      kind = k;
      ac.abort(new StepAborted(k, message));
    };
    this.active.set(runId, { runId, abort, done });
    const log = this.d.logger.child({ runId, dag: begun.dag.id, model: begun.run.model, step: stepName, attempt: begun.attempt });
    let tmpDir: string | null = null;
    const progress = new ProgressWriter(stepName, this.d.config.progressWriteMs, (p) =>
      this.d.store.heartbeat(this.d.pool, runId, this.d.owner, seq, this.d.config.leaseMs, p),
    );
    const timeout = setTimeout(() => abort('timeout', `step "${stepName}" timed out after ${begun.policy.timeoutMs} ms`), begun.policy.timeoutMs);
    let lastRenewed = Date.now();
    const heartbeat = setInterval(() => {
      this.d.store.heartbeat(this.d.pool, runId, this.d.owner, seq, this.d.config.leaseMs).then(
        (r) => {
          if (!r) abort('lease', 'the run was taken over by another replica');
          else {
            lastRenewed = Date.now();
            if (r.cancel) abort('cancel', `cancelled while step "${stepName}" ran`);
          }
        },
        (err: unknown) => {
          log.warn({ err }, 'lease renewal failed');
          // Past the lease another replica may have taken the run: stop rather than run twice.
          if (Date.now() - lastRenewed > this.d.config.leaseMs) abort('lease', 'the lease could not be renewed');
        },
      );
    }, this.d.config.heartbeatMs);
    try {
      tmpDir = await mkdtemp(path.join(this.tmpBase, `run-${runId}-${stepName}-`));
      const ctx = this.context(begun, seq, ac.signal, log, tmpDir, progress);
      const aborted = new Promise<never>((_, reject) => {
        ac.signal.addEventListener('abort', () => reject(ac.signal.reason), { once: true });
      });
      let outcome: { ok: true; output: unknown } | { ok: false; err: unknown };
      try {
        // A step that ignores its signal keeps running in the background; its result is dropped.
        const output = await Promise.race([begun.step.run(ctx), aborted]);
        outcome = kind ? { ok: false, err: ac.signal.reason } : { ok: true, output: output === undefined ? null : output };
      } catch (err) {
        outcome = { ok: false, err: kind ? ac.signal.reason : err };
      }
      clearTimeout(timeout);
      clearInterval(heartbeat);
      progress.close();
      await this.settle(job, begun, seq, outcome, log);
    } finally {
      clearTimeout(timeout);
      clearInterval(heartbeat);
      progress.close();
      this.active.delete(runId);
      resolveDone();
      if (tmpDir) await rm(tmpDir, { recursive: true, force: true }).catch(() => {});
    }
  }

  /** Checks the job is current and takes the lease; null when there is nothing to do. */
  private async begin(tx: PoolClient, job: StepJob): Promise<Begun | null> {
    const run = await this.d.store.lockState(tx, job.runId);
    if (!run || (run.status !== 'queued' && run.status !== 'running')) return null;
    // An older dispatch (before a takeover) or a duplicate: the current one runs the step.
    if (run.dispatchSeq !== job.seq) return null;
    if (run.leaseOwner !== null && run.leaseOwner !== this.d.owner && !run.leaseExpired) return null;
    const steps = await this.d.store.steps(tx, run.id);
    const current = steps.find((s) => s.status !== 'succeeded');
    if (!current || current.name !== job.step) return null;
    if (run.cancelRequested) {
      await this.d.store.finish(tx, run.id, { status: 'cancelled', error: { message: 'cancelled before its next step' }, openSteps: 'cancelled' });
      this.d.metrics.finished(run.dag, 'cancelled', run.startedAt);
      return null;
    }
    const dag = this.d.catalog.find(run.dag);
    const step = dag?.steps.find((s) => s.name === current.name);
    if (!dag || !step) {
      await this.d.store.finish(tx, run.id, {
        status: 'failed',
        error: { step: current.name, message: `this scheduler offers no DAG "${run.dag}" with a step "${current.name}"` },
        openSteps: 'skipped',
      });
      this.d.metrics.finished(run.dag, 'failed', run.startedAt);
      return null;
    }
    const attempt = await this.d.store.beginAttempt(tx, run.id, current.position, this.d.owner, this.d.config.leaseMs);
    const outputs: Record<string, unknown> = {};
    for (const s of steps) if (s.status === 'succeeded') outputs[s.name] = s.output;
    return { run: { ...run, startedAt: run.startedAt ?? new Date() }, dag, step, policy: stepPolicy(step), position: current.position, attempt, failures: current.failures, outputs };
  }

  private context(b: Begun, seq: number, signal: AbortSignal, logger: Logger, tmpDir: string, progress: ProgressWriter): StepContext<unknown> {
    const runId = String(b.run.id);
    const stepName = b.step.name;
    return {
      runId,
      dag: b.dag.id,
      model: b.run.model,
      trigger: b.run.trigger,
      cause: b.run.cause,
      scheduledFor: b.run.scheduledFor,
      params: b.run.params,
      outputs: Object.freeze({ ...b.outputs }),
      attempt: b.attempt,
      signal,
      logger,
      registry: this.d.registry,
      serving: this.d.serving,
      db: this.d.readOnlyDb,
      tmpDir,
      progress: (p) => progress.report(p),
      idempotencyKey: (purpose) => idempotencyKey(runId, stepName, purpose),
      triggerRun: (req) => this.triggerRun(b, req),
      scheduler: this.d.lookup,
    };
  }

  private async triggerRun(b: Begun, req: TriggerRequest): Promise<{ runId: string; created: boolean }> {
    const dag = this.d.catalog.get(req.dag);
    const key = createHash('sha256')
      .update(JSON.stringify([b.run.id, b.step.name, req.dag, req.model, req.trigger, req.cause ?? null, req.params ?? {}]))
      .digest('hex');
    const r = await withTransaction(this.d.pool, (tx) =>
      this.d.runs.create(tx, {
        dag,
        model: req.model,
        params: req.params ?? {},
        trigger: req.trigger,
        cause: req.cause ?? `run ${b.run.id} (${b.dag.id}), step ${b.step.name}`,
        scheduledFor: new Date(),
        createdBy: `run ${b.run.id}`,
        triggerKey: key,
        onBadParams: 'throw',
      }),
    );
    if (r.created) this.wake();
    return { runId: String(r.runId), created: r.created };
  }

  /** Records the attempt's end and moves the run on; throws only to have pg-boss retry the job. */
  private async settle(
    job: PgBoss.JobWithMetadata<StepJob>,
    b: Begun,
    seq: number,
    outcome: { ok: true; output: unknown } | { ok: false; err: unknown },
    log: Logger,
  ): Promise<void> {
    const runId = b.run.id;
    const stepName = b.step.name;
    const err = outcome.ok ? null : outcome.err;
    const kind = err instanceof StepAborted ? err.kind : null;
    if (kind === 'lease') {
      log.warn('the run was taken over by another replica; this attempt is dropped');
      return;
    }
    let retry: unknown = null;
    let finished: string | null = null;
    let runOutput: unknown = null;
    await withTransaction(this.d.pool, async (tx) => {
      const run = await this.d.store.lockState(tx, runId);
      if (!run || run.leaseOwner !== this.d.owner || run.dispatchSeq !== seq || (run.status !== 'running' && run.status !== 'queued')) {
        log.warn('the lease was lost while the step ran; its result is dropped');
        return;
      }
      const store = this.d.store;
      if (outcome.ok) {
        await store.endAttempt(tx, runId, b.position, { status: 'succeeded', outcome: 'succeeded', output: outcome.output, failed: false, finished: true });
        const next = b.dag.steps[b.dag.steps.findIndex((s) => s.name === stepName) + 1];
        if (next) {
          await store.releaseLease(tx, runId, this.d.config.leaseMs);
          await this.d.dispatcher.dispatch(tx, { runId, step: next.name, seq }, stepPolicy(next));
        } else {
          const outputs = { ...b.outputs, [stepName]: outcome.output };
          const output = b.dag.output ? b.dag.output(outputs) : outcome.output;
          await store.finish(tx, runId, { status: 'succeeded', output: output === undefined ? null : output, openSteps: 'pending' });
          finished = 'succeeded';
          runOutput = output;
        }
        return;
      }
      if (isNamed(err, 'SkipRun')) {
        const reason = (err as { reason?: string }).reason ?? messageOf(err);
        await store.endAttempt(tx, runId, b.position, { status: 'skipped', outcome: 'skipped', error: { message: reason }, failed: false, finished: true });
        await store.finish(tx, runId, { status: 'skipped', reason, openSteps: 'skipped' });
        finished = 'skipped';
        return;
      }
      if (kind === 'cancel') {
        const message = messageOf(err);
        await store.endAttempt(tx, runId, b.position, { status: 'cancelled', outcome: 'cancelled', error: { message }, failed: false, finished: true });
        await store.finish(tx, runId, { status: 'cancelled', error: { step: stepName, message }, openSteps: 'cancelled' });
        finished = 'cancelled';
        return;
      }
      if (kind === 'shutdown') {
        await store.endAttempt(tx, runId, b.position, { status: 'pending', outcome: 'interrupted', error: { message: messageOf(err) }, failed: false, finished: false });
        const newSeq = await store.releaseLease(tx, runId, this.d.config.leaseMs, { takeover: true });
        await this.d.dispatcher.dispatch(tx, { runId, step: stepName, seq: newSeq }, b.policy, { failures: b.failures });
        return;
      }
      const timedOut = kind === 'timeout';
      const message = messageOf(err);
      const details = isNamed(err, 'UnrecoverableStepError') ? (err as { details?: unknown }).details : undefined;
      const error = { message, ...(details !== undefined ? { details } : {}) };
      const last = isNamed(err, 'UnrecoverableStepError') || job.retryCount >= job.retryLimit;
      if (last) {
        await store.endAttempt(tx, runId, b.position, { status: 'failed', outcome: timedOut ? 'timed_out' : 'failed', error, failed: true, finished: true });
        await store.finish(tx, runId, {
          status: 'failed',
          error: { step: stepName, message: `step "${stepName}" failed after ${b.attempt} attempt${b.attempt === 1 ? '' : 's'}: ${message}`, attempts: b.attempt, ...(details !== undefined ? { details } : {}) },
          openSteps: 'skipped',
        });
        finished = 'failed';
        return;
      }
      await store.endAttempt(tx, runId, b.position, { status: 'retrying', outcome: timedOut ? 'timed_out' : 'failed', error, failed: true, finished: false });
      // Nobody holds the run while pg-boss waits out the backoff; the sweep leaves it alone until then.
      await store.releaseLease(tx, runId, maxRetryWaitMs(b.policy, job.retryCount) + this.d.config.leaseMs);
      this.d.metrics.stepRetries.inc({ dag: b.dag.id, step: stepName });
      retry = err;
    });
    if (finished) {
      this.d.metrics.finished(b.dag.id, finished, b.run.startedAt);
      if (finished === 'succeeded') this.d.metrics.succeeded(b.dag.id, b.run.model, runOutput);
      log.info({ status: finished }, 'run finished');
    }
    if (retry) {
      log.warn({ err: retry }, 'step attempt failed; pg-boss retries it after its backoff');
      throw retry instanceof Error ? retry : new Error(String(retry));
    }
  }

  /** A job taken while stopping: sent back to the queue for another replica. */
  private async handBack(runId: number, seq: number, stepName: string): Promise<void> {
    await withTransaction(this.d.pool, async (tx) => {
      const run = await this.d.store.lockState(tx, runId);
      if (!run || run.dispatchSeq !== seq || (run.status !== 'queued' && run.status !== 'running')) return;
      const step = this.d.catalog.find(run.dag)?.steps.find((s) => s.name === stepName);
      if (!step) return;
      const failures = (await this.d.store.steps(tx, runId)).find((s) => s.name === stepName)?.failures ?? 0;
      const newSeq = await this.d.store.releaseLease(tx, runId, this.d.config.leaseMs, { redispatch: true });
      await this.d.dispatcher.dispatch(tx, { runId, step: stepName, seq: newSeq }, stepPolicy(step), { failures });
    });
  }

  /** Re-dispatches active runs whose lease expired: their replica died, or their dispatch was lost. */
  async sweep(): Promise<number> {
    if (this.sweeping || this.stopping) return 0;
    this.sweeping = true;
    try {
      const n = await withTransaction(this.d.pool, async (tx) => {
        const expired = await this.d.store.lockExpired(tx, 50);
        let count = 0;
        for (const run of expired) {
          const steps = await this.d.store.steps(tx, run.id);
          const current = steps.find((s) => s.status !== 'succeeded');
          const step = current && this.d.catalog.find(run.dag)?.steps.find((s) => s.name === current.name);
          if (!current || !step) continue; // a replica that knows this DAG takes it
          if (run.cancelRequested) {
            await this.d.store.finish(tx, run.id, { status: 'cancelled', error: { message: 'cancelled; its replica was lost' }, openSteps: 'cancelled' });
            this.d.metrics.finished(run.dag, 'cancelled', run.startedAt);
            continue;
          }
          const lost = run.leaseOwner !== null;
          if (lost) await this.d.store.markInterrupted(tx, run.id);
          const seq = await this.d.store.releaseLease(tx, run.id, this.d.config.leaseMs, { redispatch: true, takeover: lost });
          await this.d.dispatcher.dispatch(tx, { runId: run.id, step: step.name, seq }, stepPolicy(step), { failures: current.failures });
          if (lost) this.d.metrics.takeovers.inc({ dag: run.dag });
          this.d.logger.warn({ runId: run.id, dag: run.dag, step: step.name, previousOwner: run.leaseOwner }, lost ? 'run taken over: its lease expired' : 'run re-dispatched: its dispatch was not taken in time');
          count++;
        }
        return count;
      });
      if (n) this.wake();
      return n;
    } catch (err) {
      this.d.logger.warn({ err }, 'the takeover sweep failed; it runs again at the next interval');
      return 0;
    } finally {
      this.sweeping = false;
    }
  }
}

/** Stable for every attempt of one step of one run, on any replica; at most 200 characters. */
export function idempotencyKey(runId: string, step: string, purpose: string): string {
  const raw = `run-${runId}-${step}-${purpose}`;
  return raw.length <= 200 && /^[\w.:-]+$/.test(raw) ? raw : `run-${runId}-${createHash('sha256').update(`${step}\u0000${purpose}`).digest('hex')}`;
}
