-- The scheduler's own schema: schedules, runs and their steps. pg-boss keeps its queue in
-- scheduler_boss (created by pg-boss itself).

CREATE TABLE schedule (
  dag text NOT NULL,
  model text NOT NULL,
  cron text NOT NULL,
  -- as given (defaults are applied when a run is created, so a DAG's new defaults take effect)
  params jsonb NOT NULL DEFAULT '{}',
  enabled boolean NOT NULL DEFAULT true,
  -- occurrences up to here have been claimed or recorded as missed; the catch-up starts here
  covered_until timestamptz NOT NULL DEFAULT now(),
  -- occurrences at or before this are never claimed: before the schedule (or its cron, or its
  -- re-enabling), or already recorded as missed. Ticks do not move it, so a late tick for an
  -- earlier occurrence still claims it after a later one was claimed.
  claim_floor timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text,
  PRIMARY KEY (dag, model)
);

CREATE TABLE run (
  id bigserial PRIMARY KEY,
  dag text NOT NULL,
  model text NOT NULL,
  trigger text NOT NULL,
  cause text,
  scheduled_for timestamptz NOT NULL,
  status text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'skipped', 'cancelled')),
  reason text,
  params jsonb NOT NULL,
  -- 1 + takeovers
  attempt integer NOT NULL DEFAULT 1,
  -- bumped on every takeover: a queue job carrying an older value is stale and does nothing
  dispatch_seq integer NOT NULL DEFAULT 1,
  lease_owner text,
  -- while the run is active: a step holds it (renewed by the heartbeat) or the next dispatch must
  -- start by then; past it, any replica takes the run over
  lease_expires_at timestamptz,
  cancel_requested_at timestamptz,
  progress jsonb,
  output jsonb,
  error jsonb,
  -- ctx.triggerRun's idempotency: one run per calling run+step and request
  trigger_key text UNIQUE,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz
);
-- The claim of a schedule's occurrence: every replica ticks, one insert wins.
CREATE UNIQUE INDEX run_occurrence ON run (dag, model, scheduled_for) WHERE trigger = 'schedule';
CREATE INDEX run_active ON run (dag, model) WHERE status IN ('queued', 'running');
CREATE INDEX run_lease ON run (lease_expires_at) WHERE status IN ('queued', 'running');
CREATE INDEX run_dag_model_id ON run (dag, model, id DESC);
CREATE INDEX run_status_id ON run (status, id DESC);

CREATE TABLE run_step (
  run_id bigint NOT NULL REFERENCES run (id) ON DELETE CASCADE,
  position integer NOT NULL,
  name text NOT NULL,
  status text NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'running', 'retrying', 'succeeded', 'failed', 'skipped', 'cancelled')),
  attempts integer NOT NULL DEFAULT 0,
  -- attempts that ended in an error or timeout (an interrupted attempt is not a failure)
  failures integer NOT NULL DEFAULT 0,
  history jsonb NOT NULL DEFAULT '[]',
  started_at timestamptz,
  finished_at timestamptz,
  error jsonb,
  output jsonb,
  PRIMARY KEY (run_id, position),
  UNIQUE (run_id, name)
);
