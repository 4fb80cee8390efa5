import type { AuditAction, AuditEvent } from '@contender/contracts';
import type { Queryable } from '@contender/platform';

export interface NewAuditEvent {
  modelId: number | null;
  modelName: string | null;
  /** dataset.* events name their dataset instead of a model */
  datasetId?: number | null;
  datasetName?: string | null;
  actor: string;
  action: AuditAction;
  before?: unknown;
  after?: unknown;
  reason?: string | null;
}

interface AuditRow {
  id: number;
  at: Date;
  model_name: string | null;
  dataset_name: string | null;
  actor: string;
  action: AuditAction;
  before: unknown;
  after: unknown;
  reason: string | null;
}

const toEvent = (r: AuditRow): AuditEvent => ({
  id: r.id,
  at: r.at.toISOString(),
  model: r.model_name,
  dataset: r.dataset_name,
  actor: r.actor,
  action: r.action,
  before: r.before ?? null,
  after: r.after ?? null,
  reason: r.reason,
});

/** The append-only audit trail. Only INSERT and SELECT: the table refuses anything else. */
export class PgAuditStore {
  /** Appends in the caller's transaction and stamps the model's revision with the event id. */
  async append(tx: Queryable, e: NewAuditEvent): Promise<AuditEvent> {
    const { rows } = await tx.query<AuditRow>(
      `INSERT INTO registry.audit_event (model_id, model_name, dataset_id, dataset_name, actor, action, before, after, reason)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       RETURNING ${COLS}`,
      [e.modelId, e.modelName, e.datasetId ?? null, e.datasetName ?? null, e.actor, e.action, json(e.before), json(e.after), e.reason ?? null],
    );
    const event = toEvent(rows[0]!);
    if (e.modelId !== null) {
      await tx.query('UPDATE registry.model SET revision = $2 WHERE id = $1', [e.modelId, event.id]);
    }
    return event;
  }

  async listForModel(db: Queryable, modelId: number, opts: { after?: number; limit: number }): Promise<AuditEvent[]> {
    const { rows } = await db.query<AuditRow>(
      `SELECT ${COLS}
         FROM registry.audit_event
        WHERE model_id = $1 AND id > $2
        ORDER BY id
        LIMIT $3`,
      [modelId, opts.after ?? 0, opts.limit],
    );
    return rows.map(toEvent);
  }

  async listForDataset(db: Queryable, datasetId: number, opts: { after?: number; limit: number }): Promise<AuditEvent[]> {
    const { rows } = await db.query<AuditRow>(
      `SELECT ${COLS}
         FROM registry.audit_event
        WHERE dataset_id = $1 AND id > $2
        ORDER BY id
        LIMIT $3`,
      [datasetId, opts.after ?? 0, opts.limit],
    );
    return rows.map(toEvent);
  }
}

const COLS = 'id, at, model_name, dataset_name, actor, action, before, after, reason';
const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
