import type { Run, RunStatus, RunSummary } from '@contender/contracts';
import type { Queryable } from '@contender/platform';

export interface NewRun {
  dag: string;
  model: string;
  trigger: string;
  cause: string | null;
  scheduledFor: Date;
  status: Extract<RunStatus, 'queued' | 'skipped' | 'failed'>;
  reason: string | null;
  params: Record<string, unknown>;
  steps: string[];
  triggerKey: string | null;
  createdBy: string | null;
  /** the first dispatch must start within this */
  leaseMs: number;
  error?: unknown;
}

export interface RunFilter {
  dag?: string;
  model?: string;
  status?: RunStatus;
  limit: number;
  /** runs with a smaller id */
  before?: number;
}

/** What the runner needs to know of a run to run its next step. */
export interface RunState {
  id: number;
  dag: string;
  model: string;
  trigger: string;
  cause: string | null;
  scheduledFor: Date;
  status: RunStatus;
  params: Record<string, unknown>;
  attempt: number;
  dispatchSeq: number;
  leaseOwner: string | null;
  leaseExpired: boolean;
  cancelRequested: boolean;
  startedAt: Date | null;
}

export interface StepState {
  position: number;
  name: string;
  status: string;
  attempts: number;
  failures: number;
  output: unknown;
}

interface RunRow {
  id: number;
  dag: string;
  model: string;
  trigger: string;
  cause: string | null;
  scheduled_for: Date;
  status: RunStatus;
  reason: string | null;
  params: Record<string, unknown>;
  attempt: number;
  dispatch_seq: number;
  lease_owner: string | null;
  lease_expired: boolean;
  cancel_requested_at: Date | null;
  progress: Run['progress'] | null;
  output: unknown;
  error: unknown;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

interface StepRow {
  run_id: number;
  position: number;
  name: string;
  status: Run['steps'][number]['status'];
  attempts: number;
  failures: number;
  history: Run['steps'][number]['history'];
  started_at: Date | null;
  finished_at: Date | null;
  error: unknown;
  output: unknown;
}

const RUN_COLUMNS = `id, dag, model, trigger, cause, scheduled_for, status, reason, params, attempt, dispatch_seq,
  lease_owner, coalesce(lease_expires_at < now(), true) AS lease_expired, cancel_requested_at, progress, output, error,
  created_at, started_at, finished_at`;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function toSummary(r: RunRow): RunSummary {
  return {
    id: String(r.id),
    dag: r.dag,
    model: r.model,
    trigger: r.trigger,
    ...(r.cause !== null ? { cause: r.cause } : {}),
    scheduledFor: r.scheduled_for.toISOString(),
    status: r.status,
    ...(r.reason !== null ? { reason: r.reason } : {}),
    attempt: r.attempt,
    params: r.params,
    createdAt: r.created_at.toISOString(),
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    cancelRequested: r.cancel_requested_at !== null,
    ...(r.progress ? { progress: r.progress } : {}),
    ...(r.output !== null ? { output: r.output } : {}),
    ...(r.error !== null ? { error: r.error } : {}),
  };
}

function toState(r: RunRow): RunState {
  return {
    id: r.id,
    dag: r.dag,
    model: r.model,
    trigger: r.trigger,
    cause: r.cause,
    scheduledFor: r.scheduled_for,
    status: r.status,
    params: r.params,
    attempt: r.attempt,
    dispatchSeq: r.dispatch_seq,
    leaseOwner: r.lease_owner,
    leaseExpired: r.lease_expired,
    cancelRequested: r.cancel_requested_at !== null,
    startedAt: r.started_at,
  };
}

const leaseInterval = (ms: number) => `${Math.max(0, Math.round(ms))} milliseconds`;

/** Every SQL statement on scheduler.run and scheduler.run_step. */
export class PgRunStore {
  /** Serialises run creation per DAG and model, so the maxActiveRuns count cannot race. */
  async lockDagModel(tx: Queryable, dag: string, model: string): Promise<void> {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`contender:scheduler:run:${dag}/${model}`]);
  }

  async countActive(tx: Queryable, dag: string, model: string): Promise<number> {
    const { rows } = await tx.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM scheduler.run WHERE dag = $1 AND model = $2 AND status IN ('queued', 'running')`,
      [dag, model],
    );
    return rows[0]!.n;
  }

  /**
   * Inserts the run and its steps; `null` when a unique key says it exists already (the
   * schedule's occurrence was claimed by another replica, or the trigger key was used).
   */
  async insert(tx: Queryable, r: NewRun): Promise<number | null> {
    const finished = r.status !== 'queued';
    const { rows } = await tx.query<{ id: number }>(
      `INSERT INTO scheduler.run (dag, model, trigger, cause, scheduled_for, status, reason, params, trigger_key, created_by,
         lease_expires_at, finished_at, error)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
         CASE WHEN $11 THEN NULL ELSE now() + $12::interval END, CASE WHEN $11 THEN now() END, $13)
       ON CONFLICT DO NOTHING
       RETURNING id`,
      [r.dag, r.model, r.trigger, r.cause, r.scheduledFor, r.status, r.reason, JSON.stringify(r.params), r.triggerKey, r.createdBy,
        finished, leaseInterval(r.leaseMs), r.error === undefined ? null : JSON.stringify(r.error)],
    );
    const id = rows[0]?.id;
    if (id === undefined) return null;
    await tx.query(
      `INSERT INTO scheduler.run_step (run_id, position, name, status)
       SELECT $1, s.position - 1, s.name, $3 FROM unnest($2::text[]) WITH ORDINALITY AS s(name, position)`,
      [id, r.steps, finished ? (r.status === 'skipped' ? 'skipped' : 'pending') : 'pending'],
    );
    return id;
  }

  async idByTriggerKey(q: Queryable, key: string): Promise<number | null> {
    const { rows } = await q.query<{ id: number }>('SELECT id FROM scheduler.run WHERE trigger_key = $1', [key]);
    return rows[0]?.id ?? null;
  }

  async get(q: Queryable, id: number): Promise<Run | null> {
    const { rows } = await q.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM scheduler.run WHERE id = $1`, [id]);
    const row = rows[0];
    if (!row) return null;
    const steps = await q.query<StepRow>('SELECT * FROM scheduler.run_step WHERE run_id = $1 ORDER BY position', [id]);
    return {
      ...toSummary(row),
      steps: steps.rows.map((s) => ({
        name: s.name,
        status: s.status,
        attempts: s.attempts,
        startedAt: iso(s.started_at),
        finishedAt: iso(s.finished_at),
        ...(s.error !== null ? { error: s.error } : {}),
        ...(s.output !== null ? { output: s.output } : {}),
        history: s.history,
      })),
    };
  }

  async list(q: Queryable, f: RunFilter): Promise<RunSummary[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      args.push(v);
      where.push(sql.replace('?', `$${args.length}`));
    };
    if (f.dag) add('dag = ?', f.dag);
    if (f.model) add('model = ?', f.model);
    if (f.status) add('status = ?', f.status);
    if (f.before !== undefined) add('id < ?', f.before);
    args.push(f.limit);
    const { rows } = await q.query<RunRow>(
      `SELECT ${RUN_COLUMNS} FROM scheduler.run ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${args.length}`,
      args,
    );
    return rows.map(toSummary);
  }

  /** The latest run of a DAG (any model, any status), for GET /dags/:id. */
  async latest(q: Queryable, dag: string): Promise<RunSummary | null> {
    const { rows } = await q.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM scheduler.run WHERE dag = $1 ORDER BY id DESC LIMIT 1`, [dag]);
    return rows[0] ? toSummary(rows[0]) : null;
  }

  /**
   * The outputs of the latest `n` succeeded runs of `dag` for `model`, newest first: what the
   * drift and evaluation reports are built on.
   */
  async latestSucceededOutputs(q: Queryable, dag: string, model: string, n: number): Promise<Array<{ runId: string; scheduledFor: string; finishedAt: string; output: unknown }>> {
    const { rows } = await q.query<{ id: number; scheduled_for: Date; finished_at: Date; output: unknown }>(
      `SELECT id, scheduled_for, finished_at, output FROM scheduler.run
       WHERE dag = $1 AND model = $2 AND status = 'succeeded' ORDER BY id DESC LIMIT $3`,
      [dag, model, n],
    );
    return rows.map((r) => ({ runId: String(r.id), scheduledFor: r.scheduled_for.toISOString(), finishedAt: r.finished_at.toISOString(), output: r.output }));
  }

  /**
   * Runs of one DAG and model, newest first, for DAGs that look at earlier runs (drift's retrain
   * cooldown): optionally of one trigger, created since a time, in some statuses.
   */
  async recent(
    q: Queryable,
    f: { dag: string; model: string; trigger?: string; since?: Date; status?: readonly RunStatus[]; limit: number },
  ): Promise<Array<{ id: string; dag: string; model: string; trigger: string; cause: string | null; status: RunStatus; scheduledFor: Date; createdAt: Date; output?: unknown }>> {
    const { rows } = await q.query<RunRow>(
      `SELECT ${RUN_COLUMNS} FROM scheduler.run
        WHERE dag = $1 AND model = $2 AND ($3::text IS NULL OR trigger = $3) AND ($4::timestamptz IS NULL OR created_at >= $4)
          AND ($5::text[] IS NULL OR status = ANY($5))
        ORDER BY id DESC LIMIT $6`,
      [f.dag, f.model, f.trigger ?? null, f.since ?? null, f.status ? [...f.status] : null, f.limit],
    );
    return rows.map((r) => ({
      id: String(r.id),
      dag: r.dag,
      model: r.model,
      trigger: r.trigger,
      cause: r.cause,
      status: r.status,
      scheduledFor: r.scheduled_for,
      createdAt: r.created_at,
      ...(r.output !== null ? { output: r.output } : {}),
    }));
  }

  /** The output of the latest succeeded run of `dag` for each model (the report gauges). */
  async latestSucceededOutputPerModel(q: Queryable, dag: string): Promise<Array<{ model: string; output: unknown }>> {
    const { rows } = await q.query<{ model: string; output: unknown }>(
      `SELECT DISTINCT ON (model) model, output FROM scheduler.run
        WHERE dag = $1 AND status = 'succeeded' AND output IS NOT NULL
        ORDER BY model, id DESC`,
      [dag],
    );
    return rows;
  }

  /** The run locked for this transaction. */
  async lockState(tx: Queryable, id: number): Promise<RunState | null> {
    const { rows } = await tx.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM scheduler.run WHERE id = $1 FOR UPDATE`, [id]);
    return rows[0] ? toState(rows[0]) : null;
  }

  async steps(q: Queryable, id: number): Promise<StepState[]> {
    const { rows } = await q.query<StepRow>('SELECT * FROM scheduler.run_step WHERE run_id = $1 ORDER BY position', [id]);
    return rows.map((s) => ({ position: s.position, name: s.name, status: s.status, attempts: s.attempts, failures: s.failures, output: s.output }));
  }

  /** A step attempt begins: the run's lease is this replica's. Returns the attempt number. */
  async beginAttempt(tx: Queryable, id: number, position: number, owner: string, leaseMs: number): Promise<number> {
    await tx.query(
      `UPDATE scheduler.run SET status = 'running', started_at = coalesce(started_at, now()), lease_owner = $2,
         lease_expires_at = now() + $3::interval, progress = NULL WHERE id = $1`,
      [id, owner, leaseInterval(leaseMs)],
    );
    const { rows } = await tx.query<{ attempts: number }>(
      `UPDATE scheduler.run_step SET status = 'running', attempts = attempts + 1, started_at = coalesce(started_at, now()),
         error = NULL,
         history = history || jsonb_build_array(jsonb_build_object('attempt', attempts + 1, 'startedAt', to_json(now())#>>'{}', 'finishedAt', NULL, 'outcome', NULL, 'owner', $3::text))
       WHERE run_id = $1 AND position = $2 RETURNING attempts`,
      [id, position, owner],
    );
    return rows[0]!.attempts;
  }

  /**
   * Renews the lease while `owner` holds it under `seq`, writing the progress if given. Returns
   * null when the lease is lost (another replica took the run over), else whether cancel was asked.
   */
  async heartbeat(q: Queryable, id: number, owner: string, seq: number, leaseMs: number, progress?: unknown): Promise<{ cancel: boolean } | null> {
    const { rows } = await q.query<{ cancel: boolean }>(
      `UPDATE scheduler.run SET lease_expires_at = now() + $4::interval, progress = coalesce($5::jsonb, progress)
       WHERE id = $1 AND lease_owner = $2 AND dispatch_seq = $3 AND status = 'running'
       RETURNING cancel_requested_at IS NOT NULL AS cancel`,
      [id, owner, seq, leaseInterval(leaseMs), progress === undefined ? null : JSON.stringify(progress)],
    );
    return rows[0] ?? null;
  }

  /** Ends the current attempt in the step's history and sets its fields. */
  async endAttempt(
    tx: Queryable,
    id: number,
    position: number,
    a: { status: string; outcome: string; error?: unknown; output?: unknown; failed: boolean; finished: boolean },
  ): Promise<void> {
    const message = a.error === undefined ? null : (a.error as { message?: string }).message ?? String(a.error);
    await tx.query(
      `UPDATE scheduler.run_step SET status = $3, failures = failures + $4::int,
         error = $5::jsonb, output = coalesce($6::jsonb, output), finished_at = CASE WHEN $7 THEN now() ELSE finished_at END,
         history = CASE WHEN jsonb_array_length(history) = 0 THEN history ELSE
           jsonb_set(history, ARRAY[(jsonb_array_length(history) - 1)::text],
             history -> (jsonb_array_length(history) - 1) || jsonb_strip_nulls(jsonb_build_object('finishedAt', to_json(now())#>>'{}', 'outcome', $8::text, 'error', $9::text))) END
       WHERE run_id = $1 AND position = $2`,
      [id, position, a.status, a.failed ? 1 : 0, a.error === undefined ? null : JSON.stringify(a.error), a.output === undefined ? null : JSON.stringify(a.output ?? null), a.finished, a.outcome, message],
    );
  }

  /**
   * Between two dispatches: nobody holds the run; the next dispatch must start within `waitMs`.
   * `redispatch` makes queue jobs already sent stale (a new one follows); `takeover` also counts
   * a new attempt of the run (a replica lost it mid-step).
   */
  async releaseLease(tx: Queryable, id: number, waitMs: number, opts: { redispatch?: boolean; takeover?: boolean } = {}): Promise<number> {
    const { rows } = await tx.query<{ dispatch_seq: number }>(
      `UPDATE scheduler.run SET lease_owner = NULL, lease_expires_at = now() + $2::interval,
         dispatch_seq = dispatch_seq + $3::int, attempt = attempt + $4::int
       WHERE id = $1 RETURNING dispatch_seq`,
      [id, leaseInterval(waitMs), opts.redispatch || opts.takeover ? 1 : 0, opts.takeover ? 1 : 0],
    );
    return rows[0]!.dispatch_seq;
  }

  /** The run ends: status, output or error, lease dropped, the steps not finished marked. */
  async finish(tx: Queryable, id: number, f: { status: RunStatus; reason?: string; output?: unknown; error?: unknown; openSteps: 'skipped' | 'cancelled' | 'pending' }): Promise<void> {
    await tx.query(
      `UPDATE scheduler.run SET status = $2, reason = coalesce($3, reason), output = $4::jsonb, error = $5::jsonb,
         finished_at = now(), lease_owner = NULL, lease_expires_at = NULL, progress = NULL
       WHERE id = $1`,
      [id, f.status, f.reason ?? null, f.output === undefined ? null : JSON.stringify(f.output ?? null), f.error === undefined ? null : JSON.stringify(f.error)],
    );
    if (f.openSteps !== 'pending') {
      await tx.query(`UPDATE scheduler.run_step SET status = $2 WHERE run_id = $1 AND status IN ('pending', 'running', 'retrying')`, [id, f.openSteps]);
    }
  }

  /** Asks a run to stop; true when it was active. */
  async requestCancel(tx: Queryable, id: number): Promise<boolean> {
    const { rowCount } = await tx.query(
      `UPDATE scheduler.run SET cancel_requested_at = coalesce(cancel_requested_at, now()) WHERE id = $1 AND status IN ('queued', 'running')`,
      [id],
    );
    return (rowCount ?? 0) > 0;
  }

  /**
   * Active runs whose lease expired (their replica died, or their dispatch was lost), locked
   * for this transaction; another replica's sweep skips them.
   */
  async lockExpired(tx: Queryable, limit: number): Promise<RunState[]> {
    const { rows } = await tx.query<RunRow>(
      `SELECT ${RUN_COLUMNS} FROM scheduler.run WHERE status IN ('queued', 'running') AND lease_expires_at < now()
       ORDER BY lease_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    return rows.map(toState);
  }

  /** Marks the step an expired lease interrupted: its attempt is over, it runs again. */
  async markInterrupted(tx: Queryable, id: number): Promise<void> {
    await tx.query(
      `UPDATE scheduler.run_step SET status = 'pending',
         history = jsonb_set(history, ARRAY[(jsonb_array_length(history) - 1)::text],
           history -> (jsonb_array_length(history) - 1) || jsonb_build_object('finishedAt', to_json(now())#>>'{}', 'outcome', 'interrupted'))
       WHERE run_id = $1 AND status = 'running' AND jsonb_array_length(history) > 0`,
      [id],
    );
  }

  async countRunning(q: Queryable): Promise<number> {
    const { rows } = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM scheduler.run WHERE status = 'running'`);
    return rows[0]!.n;
  }

  /** Every step executing now (any replica) and how long its current attempt has run. */
  async runningStepAges(q: Queryable): Promise<Array<{ dag: string; step: string; ageSeconds: number }>> {
    const { rows } = await q.query<{ dag: string; step: string; age: number }>(
      `SELECT r.dag, s.name AS step,
              extract(epoch FROM now() - coalesce((s.history -> -1 ->> 'startedAt')::timestamptz, s.started_at))::float8 AS age
         FROM scheduler.run_step s JOIN scheduler.run r ON r.id = s.run_id
        WHERE s.status = 'running' AND r.status = 'running'`,
    );
    return rows.map((r) => ({ dag: r.dag, step: r.step, ageSeconds: r.age }));
  }

  async lastSuccessByDagModel(q: Queryable): Promise<Array<{ dag: string; model: string; at: Date }>> {
    const { rows } = await q.query<{ dag: string; model: string; at: Date }>(
      `SELECT dag, model, max(finished_at) AS at FROM scheduler.run WHERE status = 'succeeded' GROUP BY dag, model`,
    );
    return rows;
  }
}
