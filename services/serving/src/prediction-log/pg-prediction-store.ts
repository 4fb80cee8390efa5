import type pg from 'pg';
import type { Pool } from '@contender/platform';
import { toJsonRows, type PredictionRecord } from './prediction-record.js';

// One statement per batch: the rows travel as one JSON parameter (see toJsonRows), so a batch is a
// single round trip with a fixed SQL text. ON CONFLICT DO NOTHING on the primary key (id, at)
// makes every write idempotent: replaying a spill file, even one partly written before a crash,
// never duplicates a row.
const INSERT_BATCH = `
  INSERT INTO serving.prediction
    (id, request_id, at, model, version, variant, entity_id, features, score, label, latency_ms, fallback)
  SELECT id, request_id, at, model, version, variant, entity_id, features, score, label, latency_ms, fallback
    FROM json_to_recordset($1::json) AS r(
      id uuid, request_id text, at timestamptz, model text, version int4, variant text,
      entity_id text, features jsonb, score float8, label float8, latency_ms float8, fallback bool)
  ON CONFLICT DO NOTHING`;

/** Writes of the prediction log. */
export class PgPredictionStore {
  constructor(
    private readonly pool: Pool,
    private readonly opts: { writeTimeoutMs: number },
  ) {}

  /** Inserts the records; returns how many were new (a replayed row already present is skipped). */
  async insert(records: readonly PredictionRecord[]): Promise<number> {
    const res = await this.pool.query(this.timed(INSERT_BATCH, [toJsonRows(records)]));
    return res.rowCount ?? 0;
  }

  /** Resolves once Postgres answers. */
  async ping(): Promise<void> {
    await this.pool.query(this.timed('SELECT 1', []));
  }

  // A client-side deadline: a connection that silently stops answering (a network partition, no
  // RST) would otherwise hold a write, and the flush behind it, until TCP gives up many minutes
  // later. On timeout pg-pool discards the connection; if the write did commit after all, the
  // replay's ON CONFLICT absorbs it.
  private timed(text: string, values: unknown[]): pg.QueryConfig {
    return { text, values, query_timeout: this.opts.writeTimeoutMs } as pg.QueryConfig;
  }
}
