import { createReadStream } from 'node:fs';
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
  /** `maxArtifactBytes` is MAX_DATASET_BYTES here. */
  limits: UploadLimits;
  /** registry_dataset_uploads_rejected_total{reason} */
  rejected: Counter<'reason'>;
  /** registry_dataset_versions_created_total */
  created: Counter;
}

/** Dataset objects are content-addressed per dataset: the key names the bytes. */
export const datasetObjectKey = (dataset: string, sha256: string) => `datasets/${dataset}/sha256-${sha256}.csv`;

/**
 * A dataset version upload from request to committed row. The `file` part streams through a
 * sha256, a byte count and the CSV shape check (header, row count, ragged rows, quotes) to a temp
 * file, so a refused CSV is refused before anything reaches the store; then the object is stored
 * under its content address and the version numbered and recorded in one transaction.
 *
 * Nothing is left half-written, as for model versions: a failure after the object was stored
 * removes it again unless a committed version refers to the same bytes, checked under the same
 * advisory lock a registering transaction holds from its "object still there" check to its commit.
 */
export class DatasetUploader {
  constructor(private readonly deps: DatasetUploaderDeps) {}

  async upload(name: string, req: Request, actor: string): Promise<IdempotentAnswer> {
    const scope = this.deps.idempotency.scope(req);
    const dataset = await this.deps.datasets.requireDataset(name); // 404 before reading the body
    const csv = new CsvRowCounter();
    let shape: { columns: string[]; rows: number } | undefined;
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
    }).catch((err: unknown) => {
      this.rejected(err);
      throw err;
    });
    try {
      const fingerprint = scope ? this.deps.idempotency.fingerprint(scope, [upload.file.sha256, canonicalMetadata(upload.metadata)]) : '';
      return await this.deps.idempotency.run(scope, fingerprint, 201, (hook) => this.register(dataset, upload, shape!, actor, hook));
    } catch (err) {
      this.rejected(err);
      throw err;
    } finally {
      await upload.cleanup();
    }
  }

  private async register(
    dataset: DatasetRecord,
    upload: ReceivedUpload,
    shape: { columns: string[]; rows: number },
    actor: string,
    hook: CommitHook | undefined,
  ): Promise<DatasetVersion> {
    const meta = parseMetadata(upload.metadata);
    const { sha256, sizeBytes } = upload.file;
    const key = datasetObjectKey(dataset.name, sha256);
    const put = () => this.deps.storage.put(key, createReadStream(upload.file.path), { expectedSha256: sha256, contentType: 'text/csv' });
    let stored: string | null = null;
    try {
      if (!(await this.deps.storage.stat(key))) {
        await put();
        stored = key;
      }
      const version = await this.deps.datasets.registerVersion(
        dataset.name,
        {
          sha256,
          sizeBytes,
          rows: shape.rows,
          columns: shape.columns,
          objectKey: key,
          uri: this.deps.storage.uriFor(key),
          description: meta.description ?? null,
          tags: meta.tags ?? {},
          source: meta.source ?? null,
          createdBy: actor,
        },
        async (tx) => {
          await lockArtifact(tx, key);
          // A concurrent failed upload of the same bytes may have removed the object between the
          // stat and this lock; put it back before the row that refers to it commits.
          if (!(await this.deps.storage.stat(key))) {
            await put();
            stored = key;
          }
        },
        hook,
      );
      stored = null; // committed: the object belongs to the version
      this.deps.created.inc();
      return version;
    } catch (err) {
      if (stored) await this.removeIfUnreferenced(stored, sha256);
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
      this.deps.logger.error({ err, key }, 'could not remove the object of a failed dataset upload; it is unreferenced and may be deleted');
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
