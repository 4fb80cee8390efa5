import type { Queryable } from '@contender/platform';

export interface ScheduleRow {
  dag: string;
  model: string;
  cron: string;
  params: Record<string, unknown>;
  enabled: boolean;
  coveredUntil: Date;
  claimFloor: Date;
  createdAt: Date;
  updatedAt: Date;
  updatedBy: string | null;
}

interface Row {
  dag: string;
  model: string;
  cron: string;
  params: Record<string, unknown>;
  enabled: boolean;
  covered_until: Date;
  claim_floor: Date;
  created_at: Date;
  updated_at: Date;
  updated_by: string | null;
}

const map = (r: Row): ScheduleRow => ({
  dag: r.dag,
  model: r.model,
  cron: r.cron,
  params: r.params,
  enabled: r.enabled,
  coveredUntil: r.covered_until,
  claimFloor: r.claim_floor,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  updatedBy: r.updated_by,
});

/** Every SQL statement on scheduler.schedule. */
export class PgScheduleStore {
  async list(q: Queryable, f: { dag?: string; model?: string; enabledOnly?: boolean } = {}): Promise<ScheduleRow[]> {
    const { rows } = await q.query<Row>(
      `SELECT * FROM scheduler.schedule
       WHERE ($1::text IS NULL OR dag = $1) AND ($2::text IS NULL OR model = $2) AND (NOT $3 OR enabled)
       ORDER BY dag, model`,
      [f.dag ?? null, f.model ?? null, f.enabledOnly ?? false],
    );
    return rows.map(map);
  }

  async lock(tx: Queryable, dag: string, model: string): Promise<ScheduleRow | null> {
    const { rows } = await tx.query<Row>('SELECT * FROM scheduler.schedule WHERE dag = $1 AND model = $2 FOR UPDATE', [dag, model]);
    return rows[0] ? map(rows[0]) : null;
  }

  /**
   * Inserts or replaces. `coverFromNow`: occurrences before now are not owed (a new schedule, one
   * turned back on, or a new cron), so the catch-up starts from now.
   */
  async upsert(tx: Queryable, s: { dag: string; model: string; cron: string; params: Record<string, unknown>; enabled: boolean; by: string; coverFromNow: boolean }): Promise<ScheduleRow> {
    const { rows } = await tx.query<Row>(
      `INSERT INTO scheduler.schedule (dag, model, cron, params, enabled, updated_by)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (dag, model) DO UPDATE SET cron = EXCLUDED.cron, params = EXCLUDED.params, enabled = EXCLUDED.enabled,
         updated_by = EXCLUDED.updated_by, updated_at = now(),
         covered_until = CASE WHEN $7 THEN now() ELSE scheduler.schedule.covered_until END,
         claim_floor = CASE WHEN $7 THEN now() ELSE scheduler.schedule.claim_floor END
       RETURNING *`,
      [s.dag, s.model, s.cron, JSON.stringify(s.params), s.enabled, s.by, s.coverFromNow],
    );
    return map(rows[0]!);
  }

  async delete(q: Queryable, dag: string, model: string): Promise<boolean> {
    const { rowCount } = await q.query('DELETE FROM scheduler.schedule WHERE dag = $1 AND model = $2', [dag, model]);
    return (rowCount ?? 0) > 0;
  }

  /** A tick claimed the occurrence at `at` (never moves back). */
  async cover(tx: Queryable, dag: string, model: string, at: Date): Promise<void> {
    await tx.query('UPDATE scheduler.schedule SET covered_until = greatest(covered_until, $3) WHERE dag = $1 AND model = $2', [dag, model, at]);
  }

  /** The catch-up handled every occurrence up to `until`: none of them is claimed by a late tick after this. */
  async closeUntil(tx: Queryable, dag: string, model: string, until: Date): Promise<void> {
    await tx.query(
      'UPDATE scheduler.schedule SET covered_until = greatest(covered_until, $3), claim_floor = greatest(claim_floor, $3) WHERE dag = $1 AND model = $2',
      [dag, model, until],
    );
  }
}
