-- The registry's own schema. search_path is `registry` while this runs.

CREATE TABLE model (
  id             bigserial PRIMARY KEY,
  name           text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
  description    text,
  task           text NOT NULL CHECK (task IN ('binary_classification', 'regression')),
  primary_metric text NOT NULL DEFAULT 'auc',
  metric_goal    text NOT NULL DEFAULT 'maximize' CHECK (metric_goal IN ('maximize', 'minimize')),
  tags           jsonb NOT NULL DEFAULT '{}',
  -- Traffic policy. Two decimals: assignment uses 10,000 buckets, so 0.01% is one bucket.
  challenger_percent numeric(5, 2) NOT NULL DEFAULT 0 CHECK (challenger_percent BETWEEN 0 AND 100),
  traffic_mode   text NOT NULL DEFAULT 'split' CHECK (traffic_mode IN ('split', 'shadow')),
  -- Version counter: bumped under the model row's lock in the same transaction that inserts the
  -- version, so numbers are gapless and unique under concurrent uploads (a rolled-back upload
  -- rolls the counter back too).
  last_version   integer NOT NULL DEFAULT 0,
  -- id of the last audit event that changed this model: serving's cheap change detector.
  revision       bigint NOT NULL DEFAULT 0,
  created_at     timestamptz NOT NULL DEFAULT now(),
  created_by     text NOT NULL
);

CREATE TABLE model_version (
  model_id      bigint NOT NULL REFERENCES model (id),
  version       integer NOT NULL CHECK (version >= 1),
  sha256        text NOT NULL CHECK (sha256 ~ '^[a-f0-9]{64}$'),
  size_bytes    bigint NOT NULL CHECK (size_bytes > 0),
  artifact_key  text NOT NULL,
  artifact_uri  text NOT NULL,
  signature     jsonb NOT NULL,
  feature_names jsonb NOT NULL,
  metrics       jsonb NOT NULL DEFAULT '{}',
  params        jsonb NOT NULL DEFAULT '{}',
  description   text,
  tags          jsonb NOT NULL DEFAULT '{}',
  source        jsonb,
  reference_profile jsonb,
  score_output  text,
  threshold     double precision CHECK (threshold BETWEEN 0 AND 1),
  created_at    timestamptz NOT NULL DEFAULT now(),
  created_by    text NOT NULL,
  PRIMARY KEY (model_id, version)
);
CREATE INDEX model_version_sha256 ON model_version (sha256);

CREATE TABLE model_alias (
  model_id   bigint NOT NULL REFERENCES model (id),
  alias      text NOT NULL CHECK (alias ~ '^[a-z][a-z0-9_-]{0,62}$'),
  version    integer NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model_id, alias),
  FOREIGN KEY (model_id, version) REFERENCES model_version (model_id, version)
);

-- Every change of the champion, newest last. Rollback undoes the newest change not yet undone,
-- restoring its from_version, so repeated rollbacks walk back through history.
CREATE TABLE champion_change (
  id           bigserial PRIMARY KEY,
  model_id     bigint NOT NULL REFERENCES model (id),
  from_version integer,
  to_version   integer,
  event_id     bigint NOT NULL,
  undone_by    bigint
);
CREATE INDEX champion_change_open ON champion_change (model_id, id DESC) WHERE undone_by IS NULL;

CREATE TABLE audit_event (
  id         bigserial PRIMARY KEY,
  at         timestamptz NOT NULL DEFAULT clock_timestamp(),
  model_id   bigint REFERENCES model (id),
  model_name text,
  actor      text NOT NULL,
  action     text NOT NULL,
  before     jsonb,
  after      jsonb,
  reason     text
);
CREATE INDEX audit_event_model ON audit_event (model_id, id);

-- The audit trail is append-only: the code never updates or deletes it, and the database refuses
-- to as well (row triggers for UPDATE/DELETE, a statement trigger for TRUNCATE).
CREATE FUNCTION refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'registry.audit_event is append-only (% refused)', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_event_no_update BEFORE UPDATE OR DELETE ON audit_event
  FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change();

CREATE TABLE api_key (
  id         bigserial PRIMARY KEY,
  name       text NOT NULL,
  role       text NOT NULL CHECK (role IN ('reader', 'predictor', 'data-scientist', 'admin')),
  -- sha256 of the key. Keys are 256-bit random, so a fast hash is enough: there is nothing to
  -- brute-force that a slow hash would protect.
  key_hash   text NOT NULL UNIQUE,
  prefix     text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL,
  revoked_at timestamptz
);
CREATE UNIQUE INDEX api_key_active_name ON api_key (name) WHERE revoked_at IS NULL;
