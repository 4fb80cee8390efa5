import type { AuditEvent, Dataset, DatasetVersion } from '@contender/contracts';
import { ConflictError, NotFoundError, withTransaction, type Pool, type PoolClient } from '@contender/platform';
import type { PgAuditStore } from '../audit/pg-audit-store.js';
import type { CommitHook } from '../idempotency/idempotency-service.js';
import type { DatasetRecord, DatasetVersionRecord, NewDatasetVersion, PgDatasetStore } from './pg-dataset-store.js';

export interface DatasetServiceDeps {
  pool: Pool;
  store: PgDatasetStore;
  audit: PgAuditStore;
}

/** Datasets and their versions: creation, numbering, reads and the audit events. No HTTP, no SQL. */
export class DatasetService {
  constructor(private readonly deps: DatasetServiceDeps) {}

  async createDataset(input: { name: string; description?: string; tags?: Record<string, string> }, actor: string, hook?: CommitHook): Promise<Dataset> {
    const { store, audit } = this.deps;
    return withTransaction(this.deps.pool, async (tx) => {
      const d = await store.insertDataset(tx, { name: input.name, description: input.description ?? null, tags: input.tags ?? {}, createdBy: actor });
      if (!d) throw new ConflictError(`dataset "${input.name}" already exists`, { name: input.name }, 'dataset_exists');
      await audit.append(tx, {
        modelId: null,
        modelName: null,
        datasetId: d.id,
        datasetName: d.name,
        actor,
        action: 'dataset.created',
        after: { name: d.name, description: d.description, tags: d.tags },
      });
      const response = toDatasetResponse(d, null);
      await hook?.(tx, response);
      return response;
    });
  }

  async requireDataset(name: string): Promise<DatasetRecord> {
    const d = await this.deps.store.findDataset(this.deps.pool, name);
    if (!d) throw new NotFoundError(`dataset "${name}" does not exist`, 'dataset_not_found');
    return d;
  }

  async getDataset(name: string): Promise<Dataset> {
    const d = await this.requireDataset(name);
    const latest = d.lastVersion > 0 ? await this.deps.store.findVersion(this.deps.pool, d.id, d.lastVersion) : null;
    return toDatasetResponse(d, latest);
  }

  async listDatasets(opts: { after?: string; limit: number }): Promise<{ items: Dataset[]; nextCursor: string | null }> {
    const ds = await this.deps.store.listDatasets(this.deps.pool, opts);
    const latest = await this.deps.store.latestVersions(this.deps.pool, ds.map((d) => d.id));
    return {
      items: ds.map((d) => toDatasetResponse(d, latest.get(d.id) ?? null)),
      nextCursor: ds.length === opts.limit ? ds[ds.length - 1]!.name : null,
    };
  }

  async listVersions(name: string, opts: { before?: number; limit: number }): Promise<{ items: DatasetVersion[]; nextCursor: number | null }> {
    const d = await this.requireDataset(name);
    const vs = await this.deps.store.listVersions(this.deps.pool, d.id, opts);
    return { items: vs.map(toDatasetVersionResponse), nextCursor: vs.length === opts.limit ? vs[vs.length - 1]!.version : null };
  }

  /** `version` is a number or `latest` (404 dataset_version_not_found before the first upload). */
  async getVersionRecord(name: string, version: number | 'latest'): Promise<DatasetVersionRecord> {
    const d = await this.requireDataset(name);
    const n = version === 'latest' ? d.lastVersion : version;
    const v = n > 0 ? await this.deps.store.findVersion(this.deps.pool, d.id, n) : null;
    if (!v) {
      throw new NotFoundError(
        version === 'latest' ? `dataset "${name}" has no versions yet` : `dataset "${name}" has no version ${version}`,
        'dataset_version_not_found',
      );
    }
    return v;
  }

  async getVersion(name: string, version: number | 'latest'): Promise<DatasetVersion> {
    return toDatasetVersionResponse(await this.getVersionRecord(name, version));
  }

  /**
   * Numbers and records a version, in one transaction under the dataset row's lock (gapless
   * numbers under concurrent uploads). `beforeLock` runs first in that transaction, before the row
   * lock, so slow work there (the uploader moves the object into place under its own lock) does not
   * hold up uploads of other bytes; `hook` records the Idempotency-Key answer.
   */
  async registerVersion(
    name: string,
    v: Omit<NewDatasetVersion, 'datasetId'>,
    opts: { beforeLock?: (tx: PoolClient) => Promise<void>; hook?: CommitHook } = {},
  ): Promise<DatasetVersion> {
    const { store, audit } = this.deps;
    return withTransaction(this.deps.pool, async (tx) => {
      if (opts.beforeLock) await opts.beforeLock(tx);
      const d = await store.findDataset(tx, name, { forUpdate: true });
      if (!d) throw new NotFoundError(`dataset "${name}" does not exist`, 'dataset_not_found');
      const version = await store.nextVersion(tx, d.id);
      await store.insertVersion(tx, { ...v, datasetId: d.id, version });
      await audit.append(tx, {
        modelId: null,
        modelName: null,
        datasetId: d.id,
        datasetName: d.name,
        actor: v.createdBy,
        action: 'dataset.version_created',
        after: { version, sha256: v.sha256, sizeBytes: v.sizeBytes, rows: v.rows, columns: v.columns.length, source: v.source },
      });
      const response = toDatasetVersionResponse((await store.findVersion(tx, d.id, version))!);
      await opts.hook?.(tx, response);
      return response;
    });
  }

  async events(name: string, opts: { after?: number; limit: number }): Promise<{ items: AuditEvent[]; nextCursor: number | null }> {
    const d = await this.requireDataset(name);
    const items = await this.deps.audit.listForDataset(this.deps.pool, d.id, opts);
    return { items, nextCursor: items.length === opts.limit ? items[items.length - 1]!.id : null };
  }
}

export function toDatasetResponse(d: DatasetRecord, latest: DatasetVersionRecord | null): Dataset {
  return {
    name: d.name,
    description: d.description,
    tags: d.tags,
    latestVersion: d.lastVersion > 0 ? d.lastVersion : null,
    latest: latest ? toDatasetVersionResponse(latest) : null,
    createdAt: d.createdAt.toISOString(),
    createdBy: d.createdBy,
  };
}

export function toDatasetVersionResponse(v: DatasetVersionRecord): DatasetVersion {
  return {
    dataset: v.datasetName,
    version: v.version,
    sha256: v.sha256,
    sizeBytes: v.sizeBytes,
    rows: v.rows,
    columns: v.columns,
    uri: v.uri,
    description: v.description,
    tags: v.tags,
    source: v.source,
    createdAt: v.createdAt.toISOString(),
    createdBy: v.createdBy,
  };
}
