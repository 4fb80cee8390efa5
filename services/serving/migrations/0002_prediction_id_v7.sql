-- Prediction ids are now UUID version 7 (RFC 9562): a millisecond timestamp first, then a counter
-- and random bits, so new ids sort by the time they were made and each day's rows are appended at
-- the right edge of the primary-key index instead of on a random page of it. The column's type
-- and meaning do not change; ids made before this migration are version 4. Readers must not parse
-- ids for their time: `at` is the prediction's time.
COMMENT ON COLUMN serving.prediction.id IS
  'the predictionId returned by /predict; a UUID made by serving: version 7 (time-ordered) since migration 0002, version 4 before';
