-- Datasets as versioned registry objects, their audit events, and Idempotency-Key answers.
-- search_path is `registry` while this runs.

CREATE TABLE dataset (
  id           bigserial PRIMARY KEY,
  -- the model-name rule, so `name@version` needs no quoting anywhere
  name         text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
  description  text,
  tags         jsonb NOT NULL DEFAULT '{}',
  -- Version counter, bumped under the dataset row's lock in the transaction that inserts the
  -- version (as model.last_version): gapless and unique under concurrent uploads.
  last_version integer NOT NULL DEFAULT 0,
  created_at   timestamptz NOT NULL DEFAULT now(),
  created_by   text NOT NULL
);

CREATE TABLE dataset_version (
  dataset_id  bigint NOT NULL REFERENCES dataset (id),
  version     integer NOT NULL CHECK (version >= 1),
  sha256      text NOT NULL CHECK (sha256 ~ '^[a-f0-9]{64}$'),
  size_bytes  bigint NOT NULL CHECK (size_bytes > 0),
  -- data records, the header not counted
  row_count   bigint NOT NULL CHECK (row_count >= 0),
  columns     jsonb NOT NULL,
  object_key  text NOT NULL,
  uri         text NOT NULL,
  description text,
  tags        jsonb NOT NULL DEFAULT '{}',
  source      jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  created_by  text NOT NULL,
  PRIMARY KEY (dataset_id, version)
);
CREATE INDEX dataset_version_sha256 ON dataset_version (sha256);

-- Dataset events live in the same append-only trail. Adding columns changes no row, and the
-- UPDATE/DELETE/TRUNCATE refusal of 0001 stays as it is.
ALTER TABLE audit_event ADD COLUMN dataset_id bigint REFERENCES dataset (id);
ALTER TABLE audit_event ADD COLUMN dataset_name text;
CREATE INDEX audit_event_dataset ON audit_event (dataset_id, id) WHERE dataset_id IS NOT NULL;

-- The first successful answer to a creating POST sent with an Idempotency-Key. Scoped per API key:
-- another key's request with the same Idempotency-Key is another request. The row is written in
-- the same transaction as what the request created, so an answer exists exactly when its effect
-- does; a concurrent duplicate blocks on the primary key until that transaction ends.
CREATE TABLE idempotency_key (
  api_key_id  bigint NOT NULL,
  key         text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
  method      text NOT NULL,
  path        text NOT NULL,
  -- sha256 of method, path and body (for uploads: of the file's sha256 and the metadata part)
  fingerprint text NOT NULL,
  status      integer NOT NULL,
  -- json, not jsonb: the replay is the first answer's text, keys in the order they were sent
  response    json NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (api_key_id, key)
);
CREATE INDEX idempotency_key_expiry ON idempotency_key (expires_at);
