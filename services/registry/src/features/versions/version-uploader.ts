import { createReadStream } from 'node:fs';
import type { ModelVersion } from '@contender/contracts';
import { VersionMetadata } from '@contender/contracts';
import { BadRequestError, parseOrThrow, withTransaction, type ArtifactStorage, type Logger, type Pool, type PoolClient } from '@contender/platform';
import type { Request } from 'express';
import { canonicalMetadata, type CommitHook, type IdempotencyService, type IdempotentAnswer } from '../idempotency/idempotency-service.js';
import type { ModelService } from '../models/model-service.js';
import type { PgModelStore } from '../models/pg-model-store.js';
import type { RegistryMetrics } from '../../registry-metrics.js';
import { inspectOnnx } from './onnx-inspector.js';
import { receiveUpload, type UploadLimits } from './multipart-upload.js';

export interface VersionUploaderDeps {
  pool: Pool;
  storage: ArtifactStorage;
  models: ModelService;
  store: PgModelStore;
  metrics: RegistryMetrics;
  logger: Logger;
  limits: UploadLimits;
  idempotency: IdempotencyService;
}

/** Artifacts are content-addressed per model: the key names the bytes. */
export const artifactKey = (model: string, sha256: string) => `models/${model}/sha256-${sha256}.onnx`;

/**
 * A version upload from request to committed row: stream to a temp file (hashing), validate in
 * onnxruntime, store the object, then number and record the version in one transaction.
 *
 * Nothing is left half-written: a refused upload stores nothing; a failure after the object was
 * stored removes it again unless a committed version refers to the same bytes. The check and the
 * removal run under an advisory lock on the object's key, which a registering transaction also
 * holds from its "object still there" check until it commits, so a cleanup can never delete an
 * object that a concurrent identical upload has just committed.
 */
export class VersionUploader {
  constructor(private readonly deps: VersionUploaderDeps) {}

  /**
   * With an Idempotency-Key, the request's identity is the file's sha256 (computed while it
   * streamed) and the metadata part: a repeat answers from the stored answer before anything is
   * inspected or stored.
   */
  async upload(modelName: string, req: Request, actor: string): Promise<IdempotentAnswer> {
    const scope = this.deps.idempotency.scope(req); // 400 for a bad key before reading the body
    const model = await this.deps.models.requireModel(modelName); // 404 before reading the body
    const upload = await receiveUpload(req, this.deps.limits).catch((err: unknown) => {
      this.rejected(err);
      throw err;
    });
    try {
      const fingerprint = scope ? this.deps.idempotency.fingerprint(scope, [upload.file.sha256, canonicalMetadata(upload.metadata)]) : '';
      return await this.deps.idempotency.run(scope, fingerprint, 201, (hook) => this.register(model, upload, actor, hook));
    } finally {
      await upload.cleanup();
    }
  }

  private async register(
    model: Awaited<ReturnType<ModelService['requireModel']>>,
    upload: Awaited<ReturnType<typeof receiveUpload>>,
    actor: string,
    hook: CommitHook | undefined,
  ): Promise<ModelVersion> {
    let stored: string | null = null;
    try {
      const meta = parseMetadata(upload.metadata);
      const inspected = await inspectOnnx(upload.file.path, { task: model.task, featureNames: meta.featureNames, scoreOutput: meta.scoreOutput });
      const { sha256, sizeBytes } = upload.file;
      const key = artifactKey(model.name, sha256);
      const put = () => this.deps.storage.put(key, createReadStream(upload.file.path), { expectedSha256: sha256, contentType: 'application/octet-stream' });
      if (!(await this.deps.storage.stat(key))) {
        await put();
        stored = key;
      }
      const version = await this.deps.models.registerVersion(
        model.name,
        {
          sha256,
          sizeBytes,
          artifactKey: key,
          artifactUri: this.deps.storage.uriFor(key),
          signature: inspected.signature,
          featureNames: inspected.featureNames,
          metrics: meta.metrics,
          params: meta.params,
          description: meta.description ?? null,
          tags: meta.tags ?? {},
          source: meta.source ?? null,
          referenceProfile: meta.referenceProfile ?? null,
          scoreOutput: meta.scoreOutput ?? null,
          threshold: meta.threshold ?? null,
          createdBy: actor,
        },
        async (tx) => {
          await lockArtifact(tx, key);
          // A concurrent failed upload of the same bytes may have removed the object between our
          // stat and this lock; put it back before the row that refers to it commits.
          if (!(await this.deps.storage.stat(key))) {
            await put();
            stored = key;
          }
        },
        hook,
      );
      stored = null; // committed: the object now belongs to the version
      return version;
    } catch (err) {
      this.rejected(err);
      if (stored) await this.removeIfUnreferenced(stored, upload.file.sha256);
      throw err;
    }
  }

  private async removeIfUnreferenced(key: string, sha256: string): Promise<void> {
    try {
      await withTransaction(this.deps.pool, async (tx) => {
        await lockArtifact(tx, key);
        if ((await this.deps.store.countVersionsWithSha(tx, sha256)) === 0) await this.deps.storage.delete(key);
      });
    } catch (err) {
      this.deps.logger.error({ err, key }, 'could not remove the artifact of a failed upload; it is unreferenced and may be deleted');
    }
  }

  private rejected(err: unknown): void {
    const e = err as { status?: number; code?: string };
    if (e.status === 413) this.deps.metrics.uploadsRejected.inc({ reason: 'too_large' });
    else if (e.status === 422) this.deps.metrics.uploadsRejected.inc({ reason: e.code ?? 'invalid_model' });
    else if (e.status === 400) this.deps.metrics.uploadsRejected.inc({ reason: 'bad_request' });
  }
}

/** The advisory lock under which an artifact's references are checked and the object stored or deleted. */
export function lockArtifact(tx: PoolClient, key: string) {
  return tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`contender:artifact:${key}`]);
}

function parseMetadata(text: string | null) {
  if (text === null || text.trim() === '') return parseOrThrow(VersionMetadata, {}, 'metadata');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new BadRequestError(`metadata is not valid JSON: ${(err as Error).message}`, { part: 'metadata' }, 'malformed_json');
  }
  return parseOrThrow(VersionMetadata, raw, 'metadata');
}
