-- The prediction log and its outcomes. Both tables are PUBLISHED: the scheduler (drift detection,
-- champion–challenger evaluation) reads them directly. Serving is their only writer. Change a
-- column only by adding one; never rename, retype or drop what is documented here.
--
-- serving.prediction — one row per scored request and arm, written in batches shortly after the
-- response (normally within ~200 ms; during a Postgres outage, when it is back). At most one row
-- per prediction: writes and replays are idempotent on the primary key.
--   id          uuid         the predictionId returned by /predict (made by serving, v4)
--   request_id  text         the HTTP request id (X-Request-Id), shared by the rows of one batch
--                            request and by a shadow row with the answered row it shadows
--   at          timestamptz  when the prediction was made; the partition key
--   model       text         model name
--   version     integer      model version that scored the request
--   variant     text         'champion' | 'challenger' (answered the request) | 'shadow' (scored
--                            after the response, never seen by the client)
--   entity_id   text         entity of sticky assignment, NULL when the request had none
--   features    jsonb        feature name → number | string | null, as scored; NULL if not logged
--   score       float8       positive-class probability (classifier) or the prediction (regressor)
--   label       float8       the predicted label of a classifier (score ≥ threshold), else NULL;
--                            NOT the outcome — outcomes are in serving.feedback
--   latency_ms  float8       time from the request's arrival to its answer (for shadow rows: to
--                            the shadow score), in milliseconds
--   fallback    boolean      true when the routed version failed and another one answered
-- Partitioned by RANGE (at), one partition per UTC day named prediction_pYYYYMMDD, created ahead
-- and dropped after PREDICTION_RETENTION_DAYS (default 30) by serving itself. prediction_default
-- only catches rows whose day has no partition; serving moves them into their day's partition as
-- soon as it creates it, so readers should not rely on which partition holds a row.
-- Primary key (id, at): Postgres requires the partition key in it; id comes first so a lookup by
-- id alone can use it.
--
-- serving.feedback — the observed outcome of a prediction, at most one per prediction (POST
-- /feedback is idempotent; a different label for the same prediction is refused, never
-- overwritten). Join: feedback.prediction_id = prediction.id (add prediction.at = feedback.
-- prediction_at to let Postgres skip other days' partitions).
--   prediction_id  uuid         the prediction this outcome belongs to
--   prediction_at  timestamptz  that prediction's `at`; feedback is deleted with its day's partition
--   label          float8       the outcome: 0/1 for classifiers, any finite number for regressors
--   at             timestamptz  when the outcome happened (given by the client, default receipt time)
--   received_at    timestamptz  when serving stored it
-- There is no foreign key: Postgres cannot reference a partitioned table by id alone, and a
-- prediction may still be in serving's buffer when its feedback arrives. Serving checks instead.

CREATE TABLE serving.prediction (
  id          uuid             NOT NULL,
  request_id  text             NOT NULL,
  at          timestamptz      NOT NULL,
  model       text             NOT NULL,
  version     integer          NOT NULL,
  variant     text             NOT NULL CHECK (variant IN ('champion', 'challenger', 'shadow')),
  entity_id   text,
  features    jsonb,
  score       double precision NOT NULL,
  label       double precision,
  latency_ms  double precision NOT NULL,
  fallback    boolean          NOT NULL,
  PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);

CREATE TABLE serving.prediction_default PARTITION OF serving.prediction DEFAULT;

-- GET /predictions?entityId=&model=: one entity's predictions of one model, newest first.
CREATE INDEX prediction_entity_model_at_idx ON serving.prediction (entity_id, model, at DESC);

CREATE TABLE serving.feedback (
  prediction_id  uuid             PRIMARY KEY,
  prediction_at  timestamptz      NOT NULL,
  label          double precision NOT NULL,
  at             timestamptz      NOT NULL,
  received_at    timestamptz      NOT NULL DEFAULT now()
);

-- Retention deletes feedback by its prediction's day.
CREATE INDEX feedback_prediction_at_idx ON serving.feedback (prediction_at);
