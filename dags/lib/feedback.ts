import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { ReadOnlyDb } from '@contender/pipeline';

/** The labelled rows of a model's prediction log up to a cutoff: how many, and when their outcomes happened. */
export interface FeedbackWindow {
  rows: number;
  /** earliest and latest outcome time (ISO 8601), null when there are no rows */
  from: string | null;
  to: string | null;
  /** only feedback received up to this instant counts, so a later attempt reads the same rows */
  cutoff: string;
}

/*
 * serving.prediction and serving.feedback are serving's published tables (services/serving/README.md).
 * Shadow rows are left out: they were never answered, so no outcome was sent for them.
 * The join uses both (id, at) columns so that Postgres prunes the prediction partitions.
 */
const FROM = `
  FROM serving.feedback f
  JOIN serving.prediction p ON p.id = f.prediction_id AND p.at = f.prediction_at
  WHERE p.model = $1 AND p.variant <> 'shadow' AND f.received_at <= $2`;

export async function feedbackWindow(db: ReadOnlyDb, model: string, cutoff: Date): Promise<FeedbackWindow> {
  const { rows } = await db.query<{ n: string; from: Date | null; to: Date | null }>(
    `SELECT count(*) AS n, min(f.at) AS from, max(f.at) AS to ${FROM}`,
    [model, cutoff],
  );
  const r = rows[0]!;
  return { rows: Number(r.n), from: r.from ? new Date(r.from).toISOString() : null, to: r.to ? new Date(r.to).toISOString() : null, cutoff: cutoff.toISOString() };
}

const PAGE = 5000;

/**
 * Appends the labelled logged rows to a CSV being written with `header`: each feature goes to the
 * column of its name (absent ones stay empty, i.e. missing), the outcome to the label column.
 * Paged by prediction_id (the primary key; exact, unlike a timestamp read into a JS Date) so memory stays at one page whatever the window.
 * Returns the rows written.
 */
export async function appendFeedbackRows(
  db: ReadOnlyDb,
  model: string,
  cutoff: Date,
  header: readonly string[],
  labelColumn: string,
  out: Writable,
  signal: AbortSignal,
): Promise<number> {
  let after: string | null = null;
  let written = 0;
  const labelIndex = header.indexOf(labelColumn);
  for (;;) {
    signal.throwIfAborted();
    const params: unknown[] = [model, cutoff, PAGE];
    let keyset = '';
    if (after) {
      params.push(after);
      keyset = 'AND f.prediction_id > $4';
    }
    const { rows } = await db.query<{ id: string; features: Record<string, unknown> | null; label: number }>(
      `SELECT f.prediction_id AS id, p.features, f.label ${FROM} ${keyset}
       ORDER BY f.prediction_id LIMIT $3`,
      params,
    );
    if (rows.length === 0) return written;
    let text = '';
    for (const r of rows) {
      const cells = header.map((name, j) => (j === labelIndex ? String(r.label) : csvCell(r.features?.[name])));
      text += `${cells.join(',')}\n`;
    }
    if (!out.write(text)) await once(out, 'drain');
    written += rows.length;
    const last = rows[rows.length - 1]!;
    after = last.id;
    if (rows.length < PAGE) return written;
  }
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
