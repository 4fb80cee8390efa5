import type { Queryable } from '@contender/platform';

export interface DatasetRecord {
  id: number;
  name: string;
  description: string | null;
  tags: Record<string, string>;
  lastVersion: number;
  createdAt: Date;
  createdBy: string;
}

export interface DatasetVersionRecord {
  datasetId: number;
  datasetName: string;
  version: number;
  sha256: string;
  sizeBytes: number;
  rows: number;
  columns: string[];
  objectKey: string;
  uri: string;
  description: string | null;
  tags: Record<string, string>;
  source: Record<string, unknown> | null;
  createdAt: Date;
  createdBy: string;
}

export type NewDatasetVersion = Omit<DatasetVersionRecord, 'datasetName' | 'version' | 'createdAt'>;

const DATASET_COLS = 'd.id, d.name, d.description, d.tags, d.last_version, d.created_at, d.created_by';
const VERSION_COLS = `v.dataset_id, d.name AS dataset_name, v.version, v.sha256, v.size_bytes, v.row_count, v.columns,
  v.object_key, v.uri, v.description, v.tags, v.source, v.created_at, v.created_by`;

/* eslint-disable @typescript-eslint/no-explicit-any */
const toDataset = (r: any): DatasetRecord => ({
  id: Number(r.id),
  name: r.name,
  description: r.description,
  tags: r.tags,
  lastVersion: r.last_version,
  createdAt: r.created_at,
  createdBy: r.created_by,
});

const toVersion = (r: any): DatasetVersionRecord => ({
  datasetId: Number(r.dataset_id),
  datasetName: r.dataset_name,
  version: r.version,
  sha256: r.sha256,
  // bigint columns: within Number's exact range for any file or row count this registry accepts
  sizeBytes: Number(r.size_bytes),
  rows: Number(r.row_count),
  columns: r.columns,
  objectKey: r.object_key,
  uri: r.uri,
  description: r.description,
  tags: r.tags,
  source: r.source,
  createdAt: r.created_at,
  createdBy: r.created_by,
});
/* eslint-enable @typescript-eslint/no-explicit-any */

/** All SQL for datasets and their versions. */
export class PgDatasetStore {
  /** null when the name is taken. */
  async insertDataset(db: Queryable, d: Pick<DatasetRecord, 'name' | 'description' | 'tags' | 'createdBy'>): Promise<DatasetRecord | null> {
    const { rows } = await db.query(
      `INSERT INTO registry.dataset AS d (name, description, tags, created_by) VALUES ($1, $2, $3, $4)
       ON CONFLICT (name) DO NOTHING
       RETURNING ${DATASET_COLS}`,
      [d.name, d.description, JSON.stringify(d.tags), d.createdBy],
    );
    return rows[0] ? toDataset(rows[0]) : null;
  }

  async findDataset(db: Queryable, name: string, opts: { forUpdate?: boolean } = {}): Promise<DatasetRecord | null> {
    const { rows } = await db.query(`SELECT ${DATASET_COLS} FROM registry.dataset d WHERE d.name = $1 ${opts.forUpdate ? 'FOR UPDATE' : ''}`, [name]);
    return rows[0] ? toDataset(rows[0]) : null;
  }

  async listDatasets(db: Queryable, opts: { after?: string; limit: number }): Promise<DatasetRecord[]> {
    const { rows } = await db.query(
      `SELECT ${DATASET_COLS} FROM registry.dataset d WHERE ($1::text IS NULL OR d.name > $1) ORDER BY d.name LIMIT $2`,
      [opts.after ?? null, opts.limit],
    );
    return rows.map(toDataset);
  }

  /** Reserves the next version number; the caller holds the dataset row's lock (same transaction). */
  async nextVersion(tx: Queryable, datasetId: number): Promise<number> {
    const { rows } = await tx.query<{ last_version: number }>(
      'UPDATE registry.dataset SET last_version = last_version + 1 WHERE id = $1 RETURNING last_version',
      [datasetId],
    );
    return rows[0]!.last_version;
  }

  async insertVersion(tx: Queryable, v: NewDatasetVersion & { version: number }): Promise<void> {
    await tx.query(
      `INSERT INTO registry.dataset_version (dataset_id, version, sha256, size_bytes, row_count, columns, object_key, uri,
         description, tags, source, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        v.datasetId,
        v.version,
        v.sha256,
        v.sizeBytes,
        v.rows,
        JSON.stringify(v.columns),
        v.objectKey,
        v.uri,
        v.description,
        JSON.stringify(v.tags),
        v.source === null ? null : JSON.stringify(v.source),
        v.createdBy,
      ],
    );
  }

  async findVersion(db: Queryable, datasetId: number, version: number): Promise<DatasetVersionRecord | null> {
    const { rows } = await db.query(
      `SELECT ${VERSION_COLS} FROM registry.dataset_version v JOIN registry.dataset d ON d.id = v.dataset_id
        WHERE v.dataset_id = $1 AND v.version = $2`,
      [datasetId, version],
    );
    return rows[0] ? toVersion(rows[0]) : null;
  }

  /** The newest version of each dataset given. */
  async latestVersions(db: Queryable, datasetIds: number[]): Promise<Map<number, DatasetVersionRecord>> {
    if (datasetIds.length === 0) return new Map();
    const { rows } = await db.query(
      `SELECT ${VERSION_COLS} FROM registry.dataset d JOIN registry.dataset_version v ON v.dataset_id = d.id AND v.version = d.last_version
        WHERE d.id = ANY($1::bigint[])`,
      [datasetIds],
    );
    return new Map(rows.map((r) => [Number(r.dataset_id), toVersion(r)]));
  }

  async listVersions(db: Queryable, datasetId: number, opts: { before?: number; limit: number }): Promise<DatasetVersionRecord[]> {
    const { rows } = await db.query(
      `SELECT ${VERSION_COLS} FROM registry.dataset_version v JOIN registry.dataset d ON d.id = v.dataset_id
        WHERE v.dataset_id = $1 AND ($2::int IS NULL OR v.version < $2)
        ORDER BY v.version DESC LIMIT $3`,
      [datasetId, opts.before ?? null, opts.limit],
    );
    return rows.map(toVersion);
  }

  /** Versions whose bytes are this object. */
  async countVersionsWithObject(db: Queryable, sha256: string, objectKey: string): Promise<number> {
    const { rows } = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM registry.dataset_version WHERE sha256 = $1 AND object_key = $2',
      [sha256, objectKey],
    );
    return rows[0]!.n;
  }
}
