import { randomUUID } from 'node:crypto';
import { DatasetVersionMetadata, type DatasetVersion } from '@contender/contracts';
import { BadRequestError, parseOrThrow, withTransaction, type ArtifactStorage, type Logger, type Pool } from '@contender/platform';
import type { Request } from 'express';
import type { Counter } from 'prom-client';
import { canonicalMetadata, type CommitHook, type IdempotencyService, type IdempotentAnswer } from '../idempotency/idempotency-service.js';
import { receiveUpload, type ReceivedUpload, type UploadLimits } from '../versions/multipart-upload.js';
import { lockArtifact } from '../versions/version-uploader.js';
import { CsvRowCounter } from './csv-row-counter.js';
import type { DatasetService } from './dataset-service.js';
import type { DatasetRecord, PgDatasetStore } from './pg-dataset-store.js';

export interface DatasetUploaderDeps {
  pool: Pool;
  storage: ArtifactStorage;
  datasets: DatasetService;
  store: PgDatasetStore;
  idempotency: IdempotencyService;
  logger: Logger;
  /** `maxArtifactBytes` is MAX_DATASET_BYTES here; `tmpDir` is unused (the file streams to the store). */
  limits: UploadLimits;
  /** registry_dataset_uploads_rejected_total{reason} */
  rejected: Counter<'reason'>;
  /** registry_dataset_versions_created_total */
  created: Counter;
}

/** Dataset objects are content-addressed per dataset: the key names the bytes. */
export const datasetObjectKey = (dataset: string, sha256: string) => `datasets/${dataset}/sha256-${sha256}.csv`;

/** Where an upload streams before its sha256 is known; the start time lets the sweep tell a stale one. */
export const datasetStagingKey = (dataset: string, startedAtMs: number) => `datasets/${dataset}/upload-${startedAtMs}-${randomUUID()}.csv`;
export const DATASET_STAGING_KEY = /^datasets\/[^/]+\/upload-(\d{1,15})-[0-9a-f-]{36}\.csv$/;

/**
 * A dataset version upload from request to committed row. The `file` part streams straight to the
 * artifact store under a staging key, through a sha256, a byte count and the CSV shape check
 * (header, rows, ragged rows, quotes); it is never held whole, in memory or on disk. A refused CSV
 * fails the store's put before it completes, which leaves nothing there. Once the sha256 is known,
 * the staging object moves to its content address inside the transaction that records the
 * version, under the advisory lock on that address (the one the sweep takes), so the object and
 * its row appear together; when the address already holds the same bytes, the staging object is
 * dropped instead. Any failure removes the staging object, and a moved object no committed version
 * refers to.
 */
export class DatasetUploader {
  constructor(private readonly deps: DatasetUploaderDeps) {}

  async upload(name: string, req: Request, actor: string): Promise<IdempotentAnswer> {
    const scope = this.deps.idempotency.scope(req);
    const dataset = await this.deps.datasets.requireDataset(name); // 404 before reading the body
    const { storage } = this.deps;
    const csv = new CsvRowCounter();
    let shape: { columns: string[]; rows: number } | undefined;
    const staging = datasetStagingKey(dataset.name, Date.now());
    const upload = await receiveUpload(req, this.deps.limits, {
      name: 'file',
      description: 'the CSV file',
      limitName: 'MAX_DATASET_BYTES',
      extension: '.csv',
      allowEmpty: true, // an empty file is a CSV without a header: the counter says so (422)
      inspect: {
        push: (chunk) => csv.push(chunk),
        end: () => {
          shape = csv.end();
        },
      },
      sink: {
        write: async (body) => {
          await storage.put(staging, body, { maxBytes: this.deps.limits.maxArtifactBytes, contentType: 'text/csv' });
        },
        discard: () => storage.delete(staging),
      },
    }).catch((err: unknown) => {
      this.rejected(err);
      throw err;
    });
    try {
      const fingerprint = scope ? this.deps.idempotency.fingerprint(scope, [upload.file.sha256, canonicalMetadata(upload.metadata)]) : '';
      // A replay answers here and the finally drops this upload's staging object.
      return await this.deps.idempotency.run(scope, fingerprint, 201, (hook) => this.register(dataset, staging, upload, shape!, actor, hook));
    } catch (err) {
      this.rejected(err);
      throw err;
    } finally {
      await upload.cleanup().catch((err: unknown) => this.deps.logger.error({ err, key: staging }, 'could not remove a staged dataset upload; the sweep will'));
    }
  }

  private async register(
    dataset: DatasetRecord,
    staging: string,
    upload: ReceivedUpload,
    shape: { columns: string[]; rows: number },
    actor: string,
    hook: CommitHook | undefined,
  ): Promise<DatasetVersion> {
    const meta = parseMetadata(upload.metadata);
    const { sha256, sizeBytes } = upload.file;
    const key = datasetObjectKey(dataset.name, sha256);
    const { storage } = this.deps;
    let moved = false;
    try {
      const version = await this.deps.datasets.registerVersion(
        dataset.name,
        {
          sha256,
          sizeBytes,
          rows: shape.rows,
          columns: shape.columns,
          objectKey: key,
          uri: storage.uriFor(key),
          description: meta.description ?? null,
          tags: meta.tags ?? {},
          source: meta.source ?? null,
          createdBy: actor,
        },
        {
          beforeLock: async (tx) => {
            await lockArtifact(tx, key);
            if (await storage.stat(key)) {
              await storage.delete(staging); // the same bytes are there already
            } else {
              await storage.move(staging, key);
              moved = true;
            }
          },
          hook,
        },
      );
      this.deps.created.inc();
      return version;
    } catch (err) {
      if (moved) await this.removeIfUnreferenced(key, sha256);
      throw err;
    }
  }

  private async removeIfUnreferenced(key: string, sha256: string): Promise<void> {
    try {
      await withTransaction(this.deps.pool, async (tx) => {
        await lockArtifact(tx, key);
        if ((await this.deps.store.countVersionsWithObject(tx, sha256, key)) === 0) await this.deps.storage.delete(key);
      });
    } catch (err) {
      this.deps.logger.error({ err, key }, 'could not remove the object of a failed dataset upload; it is unreferenced and the sweep will');
    }
  }

  private rejected(err: unknown): void {
    const e = err as { status?: number; code?: string };
    if (e.status === 413) this.deps.rejected.inc({ reason: 'too_large' });
    else if (e.status === 422 && e.code?.startsWith('csv_')) this.deps.rejected.inc({ reason: e.code });
    else if (e.status === 400) this.deps.rejected.inc({ reason: 'bad_request' });
  }
}

function parseMetadata(text: string | null) {
  if (text === null || text.trim() === '') return parseOrThrow(DatasetVersionMetadata, {}, 'metadata');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new BadRequestError(`metadata is not valid JSON: ${(err as Error).message}`, { part: 'metadata' }, 'malformed_json');
  }
  return parseOrThrow(DatasetVersionMetadata, raw, 'metadata');
}
