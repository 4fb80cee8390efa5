import type { DeploymentState, Signature, Task, TrafficMode } from '@contender/contracts';
import type { Queryable } from '@contender/platform';

export interface ModelRecord {
  id: number;
  name: string;
  description: string | null;
  task: Task;
  primaryMetric: string;
  metricGoal: 'maximize' | 'minimize';
  tags: Record<string, string>;
  challengerPercent: number;
  trafficMode: TrafficMode;
  lastVersion: number;
  revision: number;
  createdAt: Date;
  createdBy: string;
}

export interface VersionRecord {
  modelId: number;
  modelName: string;
  version: number;
  sha256: string;
  sizeBytes: number;
  artifactKey: string;
  artifactUri: string;
  signature: Signature;
  featureNames: string[];
  metrics: Record<string, number>;
  params: Record<string, unknown>;
  description: string | null;
  tags: Record<string, string>;
  source: Record<string, unknown> | null;
  hasReferenceProfile: boolean;
  scoreOutput: string | null;
  threshold: number | null;
  createdAt: Date;
  createdBy: string;
}

export type NewVersion = Omit<VersionRecord, 'modelName' | 'version' | 'createdAt' | 'hasReferenceProfile'> & {
  referenceProfile: unknown;
};

const MODEL_COLS = `m.id, m.name, m.description, m.task, m.primary_metric, m.metric_goal, m.tags,
  m.challenger_percent, m.traffic_mode, m.last_version, m.revision, m.created_at, m.created_by`;

const VERSION_COLS = `v.model_id, m.name AS model_name, v.version, v.sha256, v.size_bytes, v.artifact_key,
  v.artifact_uri, v.signature, v.feature_names, v.metrics, v.params, v.description, v.tags, v.source,
  (v.reference_profile IS NOT NULL) AS has_reference_profile, v.score_output, v.threshold, v.created_at, v.created_by`;

/* eslint-disable @typescript-eslint/no-explicit-any */
const toModel = (r: any): ModelRecord => ({
  id: r.id,
  name: r.name,
  description: r.description,
  task: r.task,
  primaryMetric: r.primary_metric,
  metricGoal: r.metric_goal,
  tags: r.tags,
  challengerPercent: r.challenger_percent,
  trafficMode: r.traffic_mode,
  lastVersion: r.last_version,
  revision: r.revision,
  createdAt: r.created_at,
  createdBy: r.created_by,
});

const toVersion = (r: any): VersionRecord => ({
  modelId: r.model_id,
  modelName: r.model_name,
  version: r.version,
  sha256: r.sha256,
  sizeBytes: r.size_bytes,
  artifactKey: r.artifact_key,
  artifactUri: r.artifact_uri,
  signature: r.signature,
  featureNames: r.feature_names,
  metrics: r.metrics,
  params: r.params,
  description: r.description,
  tags: r.tags,
  source: r.source,
  hasReferenceProfile: r.has_reference_profile,
  scoreOutput: r.score_output,
  threshold: r.threshold,
  createdAt: r.created_at,
  createdBy: r.created_by,
});
/* eslint-enable @typescript-eslint/no-explicit-any */

/** All SQL for models, versions, aliases, traffic and champion history. */
export class PgModelStore {
  async insertModel(
    db: Queryable,
    m: Pick<ModelRecord, 'name' | 'description' | 'task' | 'primaryMetric' | 'metricGoal' | 'tags' | 'createdBy'>,
  ): Promise<ModelRecord | null> {
    const { rows } = await db.query(
      `INSERT INTO registry.model AS m (name, description, task, primary_metric, metric_goal, tags, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (name) DO NOTHING
       RETURNING ${MODEL_COLS}`,
      [m.name, m.description, m.task, m.primaryMetric, m.metricGoal, JSON.stringify(m.tags), m.createdBy],
    );
    return rows[0] ? toModel(rows[0]) : null;
  }

  async findModel(db: Queryable, name: string, opts: { forUpdate?: boolean } = {}): Promise<ModelRecord | null> {
    const { rows } = await db.query(
      `SELECT ${MODEL_COLS} FROM registry.model m WHERE m.name = $1 ${opts.forUpdate ? 'FOR UPDATE' : ''}`,
      [name],
    );
    return rows[0] ? toModel(rows[0]) : null;
  }

  async listModels(db: Queryable, opts: { after?: string; limit: number }): Promise<ModelRecord[]> {
    const { rows } = await db.query(
      `SELECT ${MODEL_COLS} FROM registry.model m WHERE ($1::text IS NULL OR m.name > $1) ORDER BY m.name LIMIT $2`,
      [opts.after ?? null, opts.limit],
    );
    return rows.map(toModel);
  }

  /** Models that changed after `revision`, or all of them. */
  async listModelsForDeployment(db: Queryable): Promise<ModelRecord[]> {
    const { rows } = await db.query(`SELECT ${MODEL_COLS} FROM registry.model m ORDER BY m.name`);
    return rows.map(toModel);
  }

  /** Reserves the next version number; the caller holds the model row's lock (same transaction). */
  async nextVersion(tx: Queryable, modelId: number): Promise<number> {
    const { rows } = await tx.query<{ last_version: number }>(
      'UPDATE registry.model SET last_version = last_version + 1 WHERE id = $1 RETURNING last_version',
      [modelId],
    );
    return rows[0]!.last_version;
  }

  async insertVersion(tx: Queryable, v: NewVersion & { version: number }): Promise<void> {
    await tx.query(
      `INSERT INTO registry.model_version (model_id, version, sha256, size_bytes, artifact_key, artifact_uri, signature,
         feature_names, metrics, params, description, tags, source, reference_profile, score_output, threshold, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
      [
        v.modelId,
        v.version,
        v.sha256,
        v.sizeBytes,
        v.artifactKey,
        v.artifactUri,
        JSON.stringify(v.signature),
        JSON.stringify(v.featureNames),
        JSON.stringify(v.metrics),
        JSON.stringify(v.params),
        v.description,
        JSON.stringify(v.tags),
        v.source === null ? null : JSON.stringify(v.source),
        v.referenceProfile === undefined || v.referenceProfile === null ? null : JSON.stringify(v.referenceProfile),
        v.scoreOutput,
        v.threshold,
        v.createdBy,
      ],
    );
  }

  async findVersion(db: Queryable, modelId: number, version: number): Promise<VersionRecord | null> {
    const { rows } = await db.query(
      `SELECT ${VERSION_COLS} FROM registry.model_version v JOIN registry.model m ON m.id = v.model_id
        WHERE v.model_id = $1 AND v.version = $2`,
      [modelId, version],
    );
    return rows[0] ? toVersion(rows[0]) : null;
  }

  async findVersions(db: Queryable, modelId: number, versions: number[]): Promise<Map<number, VersionRecord>> {
    if (versions.length === 0) return new Map();
    const { rows } = await db.query(
      `SELECT ${VERSION_COLS} FROM registry.model_version v JOIN registry.model m ON m.id = v.model_id
        WHERE v.model_id = $1 AND v.version = ANY($2::int[])`,
      [modelId, versions],
    );
    return new Map(rows.map((r) => [r.version as number, toVersion(r)]));
  }

  async listVersions(db: Queryable, modelId: number, opts: { before?: number; limit: number }): Promise<VersionRecord[]> {
    const { rows } = await db.query(
      `SELECT ${VERSION_COLS} FROM registry.model_version v JOIN registry.model m ON m.id = v.model_id
        WHERE v.model_id = $1 AND ($2::int IS NULL OR v.version < $2)
        ORDER BY v.version DESC LIMIT $3`,
      [modelId, opts.before ?? null, opts.limit],
    );
    return rows.map(toVersion);
  }

  async referenceProfile(db: Queryable, modelId: number, version: number): Promise<unknown> {
    const { rows } = await db.query('SELECT reference_profile FROM registry.model_version WHERE model_id = $1 AND version = $2', [
      modelId,
      version,
    ]);
    return rows[0]?.reference_profile ?? null;
  }

  /** Versions whose artifact is this object (the sha256 index finds them). */
  async countVersionsWithArtifact(db: Queryable, sha256: string, artifactKey: string): Promise<number> {
    const { rows } = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM registry.model_version WHERE sha256 = $1 AND artifact_key = $2',
      [sha256, artifactKey],
    );
    return rows[0]!.n;
  }

  async aliases(db: Queryable, modelId: number): Promise<Record<string, number>> {
    const { rows } = await db.query<{ alias: string; version: number }>(
      'SELECT alias, version FROM registry.model_alias WHERE model_id = $1 ORDER BY alias',
      [modelId],
    );
    return Object.fromEntries(rows.map((r) => [r.alias, r.version]));
  }

  async aliasesOfModels(db: Queryable, modelIds: number[]): Promise<Map<number, Record<string, number>>> {
    const out = new Map<number, Record<string, number>>(modelIds.map((id) => [id, {}]));
    if (modelIds.length === 0) return out;
    const { rows } = await db.query<{ model_id: number; alias: string; version: number }>(
      'SELECT model_id, alias, version FROM registry.model_alias WHERE model_id = ANY($1::bigint[]) ORDER BY alias',
      [modelIds],
    );
    for (const r of rows) out.get(r.model_id)![r.alias] = r.version;
    return out;
  }

  async setAlias(tx: Queryable, modelId: number, alias: string, version: number): Promise<void> {
    await tx.query(
      `INSERT INTO registry.model_alias (model_id, alias, version) VALUES ($1, $2, $3)
       ON CONFLICT (model_id, alias) DO UPDATE SET version = EXCLUDED.version, updated_at = now()`,
      [modelId, alias, version],
    );
  }

  async deleteAlias(tx: Queryable, modelId: number, alias: string): Promise<boolean> {
    const { rowCount } = await tx.query('DELETE FROM registry.model_alias WHERE model_id = $1 AND alias = $2', [modelId, alias]);
    return (rowCount ?? 0) > 0;
  }

  async setTraffic(tx: Queryable, modelId: number, challengerPercent: number, mode: TrafficMode): Promise<void> {
    await tx.query('UPDATE registry.model SET challenger_percent = $2, traffic_mode = $3 WHERE id = $1', [modelId, challengerPercent, mode]);
  }

  async recordChampionChange(tx: Queryable, c: { modelId: number; from: number | null; to: number | null; eventId: number }): Promise<void> {
    await tx.query('INSERT INTO registry.champion_change (model_id, from_version, to_version, event_id) VALUES ($1, $2, $3, $4)', [
      c.modelId,
      c.from,
      c.to,
      c.eventId,
    ]);
  }

  /** The newest champion change not yet undone: what a rollback would revert. */
  async lastChampionChange(db: Queryable, modelId: number): Promise<{ id: number; from: number | null; to: number | null } | null> {
    const { rows } = await db.query<{ id: number; from_version: number | null; to_version: number | null }>(
      `SELECT id, from_version, to_version FROM registry.champion_change
        WHERE model_id = $1 AND undone_by IS NULL ORDER BY id DESC LIMIT 1`,
      [modelId],
    );
    const r = rows[0];
    return r ? { id: r.id, from: r.from_version, to: r.to_version } : null;
  }

  async markChampionChangeUndone(tx: Queryable, id: number, eventId: number): Promise<void> {
    await tx.query('UPDATE registry.champion_change SET undone_by = $2 WHERE id = $1', [id, eventId]);
  }

  async deploymentState(db: Queryable, model: ModelRecord): Promise<DeploymentState> {
    return {
      aliases: await this.aliases(db, model.id),
      traffic: { challengerPercent: model.challengerPercent, mode: model.trafficMode },
    };
  }
}
