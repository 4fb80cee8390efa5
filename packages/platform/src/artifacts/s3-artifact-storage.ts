import type { Readable } from 'node:stream';

import { Client, CopyDestinationOptions, CopySourceOptions } from 'minio';

import { ArtifactMeter, pipeThroughMeter } from './artifact-meter.js';
import {
  ArtifactNotFoundError,
  ArtifactRangeNotSatisfiableError,
  ArtifactStoreUnavailableError,
} from './artifact-errors.js';
import {
  DEFAULT_ARTIFACT_CONTENT_TYPE,
  assertArtifactKey,
  assertPutArguments,
  assertArtifactPrefix,
  assertByteRange,
  type ArtifactGetOptions,
  type ArtifactPutOptions,
  type ArtifactPutResult,
  type ArtifactStat,
  type ArtifactStorage,
} from './artifact-storage.js';

/** How to reach an S3-compatible server (MinIO, AWS, Swift's s3api). */
export interface S3ConnectionOptions {
  /** http(s)://host[:port]; requests are path-style (http://host/bucket/key). */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  /** Default us-east-1. Setting it spares minio a GetBucketLocation request per bucket. */
  region?: string;
}

export interface S3ArtifactStorageOptions extends S3ConnectionOptions {
  bucket: string;
  /** Keys are stored under `prefix/`, so one bucket can hold several stores. */
  prefix?: string;
  /**
   * Bodies up to this size are sent in one PUT; larger ones as a multipart upload of parts this
   * big. One part is buffered in memory per running put, and S3 allows 10,000 parts, so the default
   * 16 MiB bounds memory at 16 MiB per upload and artifacts at about 156 GiB. S3's minimum is 5 MiB.
   */
  partSizeBytes?: number;
  /** Keys per ListObjectsV2 request, 1 to 1,000 (S3's maximum, the default). */
  listPageSize?: number;
}

export const DEFAULT_S3_REGION = 'us-east-1';
const MIB = 1024 * 1024;
const DEFAULT_PART_SIZE_BYTES = 16 * MIB;
const MIN_PART_SIZE_BYTES = 5 * MIB;
const MAX_PART_SIZE_BYTES = 5 * 1024 * MIB;
const MAX_LIST_PAGE_SIZE = 1000;

/** Errors of the socket, not of S3: the endpoint cannot be reached. */
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);
/** S3 codes meaning "these credentials may not do this"; HEAD requests have no body and only say AccessDenied. */
const CREDENTIAL_ERROR_CODES = new Set(['AccessDenied', 'SignatureDoesNotMatch', 'InvalidAccessKeyId']);

/** A minio client for `connection`, path-style (bucket names in the path, as MinIO and Swift expect). */
export function createMinioClient(connection: S3ConnectionOptions): Client {
  let url: URL;
  try {
    url = new URL(connection.endpoint);
  } catch {
    throw new Error(`S3 endpoint "${connection.endpoint}" is not a URL like http://host:port`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || (url.pathname !== '/' && url.pathname !== '')) {
    throw new Error(`S3 endpoint "${connection.endpoint}" must be http(s)://host[:port] without a path`);
  }
  const useSSL = url.protocol === 'https:';
  return new Client({
    endPoint: url.hostname,
    port: url.port === '' ? (useSSL ? 443 : 80) : Number(url.port),
    useSSL,
    accessKey: connection.accessKey,
    secretKey: connection.secretKey,
    region: connection.region ?? DEFAULT_S3_REGION,
    pathStyle: true,
  });
}

/** S3's rules for bucket names that work in both path-style and virtual-host-style URLs. */
export function isDnsCompliantBucketName(name: string): boolean {
  return (
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name)
  );
}

/**
 * Artifacts as objects in one S3 bucket, through the minio client.
 *
 * Puts do their own multipart upload instead of minio's `putObject(stream)`: with a body of unknown
 * length minio buffers parts of up to ~530 MiB, always uses multipart (3 requests even for a few
 * bytes), resumes any older upload it finds for the same key (which may be a concurrent put's), and
 * never aborts an upload whose body failed. Here a body that ends within the first part goes out
 * as one PUT, and a failed put aborts exactly the upload it started.
 */
export class S3ArtifactStorage implements ArtifactStorage {
  readonly kind = 's3' as const;
  readonly bucket: string;
  /** "" or "prefix/". */
  readonly #keyPrefix: string;
  readonly #region: string;
  readonly #partSizeBytes: number;
  readonly #listPageSize: number;
  readonly #client: Client;

  constructor(options: S3ArtifactStorageOptions) {
    if (!isDnsCompliantBucketName(options.bucket)) {
      throw new Error(
        `S3 bucket name "${options.bucket}" is not DNS-compliant (3-63 lowercase letters, digits, "-" and ".")`,
      );
    }
    if (options.prefix !== undefined && options.prefix !== '') assertArtifactKey(options.prefix);
    const partSizeBytes = options.partSizeBytes ?? DEFAULT_PART_SIZE_BYTES;
    if (!Number.isSafeInteger(partSizeBytes) || partSizeBytes < MIN_PART_SIZE_BYTES || partSizeBytes > MAX_PART_SIZE_BYTES) {
      throw new Error(`S3 part size must be an integer from 5 MiB to 5 GiB, got ${partSizeBytes}`);
    }
    const listPageSize = options.listPageSize ?? MAX_LIST_PAGE_SIZE;
    if (!Number.isSafeInteger(listPageSize) || listPageSize < 1 || listPageSize > MAX_LIST_PAGE_SIZE) {
      throw new Error(`S3 list page size must be an integer from 1 to ${MAX_LIST_PAGE_SIZE}, got ${listPageSize}`);
    }
    this.bucket = options.bucket;
    this.#keyPrefix = options.prefix ? `${options.prefix}/` : '';
    this.#region = options.region ?? DEFAULT_S3_REGION;
    this.#partSizeBytes = partSizeBytes;
    this.#listPageSize = listPageSize;
    this.#client = createMinioClient(options);
  }

  async init(): Promise<void> {
    // HEAD first: a bucket created by the operator works with credentials that may not create buckets.
    if (await this.#s3(() => this.#client.bucketExists(this.bucket))) return;
    try {
      await this.#client.makeBucket(this.bucket, this.#region);
    } catch (err) {
      // Another process created it between our HEAD and PUT.
      if (errorCode(err) === 'BucketAlreadyOwnedByYou') return;
      if (errorCode(err) === 'BucketAlreadyExists') {
        throw new ArtifactStoreUnavailableError(
          `S3 bucket "${this.bucket}" belongs to another account: choose another bucket in ARTIFACT_STORE`,
          err,
        );
      }
      throw this.#translate(err);
    }
  }

  async put(key: string, body: Readable, opts: ArtifactPutOptions = {}): Promise<ArtifactPutResult> {
    assertPutArguments(key, body, opts);
    const objectName = this.#keyPrefix + key;
    const headers = { 'Content-Type': opts.contentType ?? DEFAULT_ARTIFACT_CONTENT_TYPE };
    const meter = new ArtifactMeter(opts.maxBytes);
    // An object rather than plain `let`s: TypeScript does not see assignments made inside the
    // closures below and would narrow a `let uploadId` to undefined after them.
    const upload: { id?: string; parts: { part: number; etag: string }[]; pending: Buffer[]; pendingBytes: number } = {
      parts: [],
      pending: [],
      pendingBytes: 0,
    };
    const takePending = (): Buffer => {
      const payload = Buffer.concat(upload.pending, upload.pendingBytes);
      upload.pending = [];
      upload.pendingBytes = 0;
      return payload;
    };
    const sendPart = async (payload: Buffer): Promise<void> => {
      // If this request fails after S3 has created the upload, the id is lost and the upload
      // dangles; only a lifecycle rule (AbortIncompleteMultipartUpload) can reclaim it.
      upload.id ??= await this.#s3(() => this.#client.initiateNewMultipartUpload(this.bucket, objectName, { ...headers }));
      const uploadID = upload.id;
      const partNumber = upload.parts.length + 1;
      const { etag } = await this.#s3(() =>
        this.#client.uploadPart({ bucketName: this.bucket, objectName, uploadID, partNumber, headers: {} }, payload),
      );
      upload.parts.push({ part: partNumber, etag });
    };

    try {
      // Parts are sent one at a time and the loop awaits each, so the body is read no faster than
      // S3 accepts it (backpressure) and at most one part is buffered. No await before this call:
      // the pipeline must listen to `body` at once, or an error the body emits meanwhile would
      // have no listener and crash the process.
      await pipeThroughMeter(body, meter, async (source) => {
        for await (const chunk of source) {
          upload.pending.push(chunk);
          upload.pendingBytes += chunk.length;
          if (upload.pendingBytes >= this.#partSizeBytes) await sendPart(takePending());
        }
      });
      // Checked before the object becomes visible: a mismatching body is never readable.
      const { sizeBytes, sha256 } = meter.verify(opts.expectedSha256);
      if (upload.id === undefined) {
        const payload = takePending();
        await this.#s3(() => this.#client.putObject(this.bucket, objectName, payload, payload.length, headers));
      } else {
        if (upload.pendingBytes > 0) await sendPart(takePending());
        const uploadId = upload.id;
        await this.#s3(() => this.#client.completeMultipartUpload(this.bucket, objectName, uploadId, upload.parts));
      }
      return { key, uri: this.uriFor(key), sizeBytes, sha256 };
    } catch (err) {
      body.destroy();
      if (upload.id !== undefined) await this.#abortUpload(objectName, upload.id);
      throw err;
    }
  }

  async get(key: string, opts: ArtifactGetOptions = {}): Promise<Readable> {
    assertArtifactKey(key);
    const { range } = opts;
    if (range) assertByteRange(range);
    const objectName = this.#keyPrefix + key;
    if (!range || (range.start === 0 && range.end === undefined)) {
      return this.#s3(() => this.#client.getObject(this.bucket, objectName), key);
    }
    // minio takes a length; 0 means "to the end".
    const length = range.end === undefined ? 0 : range.end - range.start + 1;
    return this.#s3(() => this.#client.getPartialObject(this.bucket, objectName, range.start, length), key);
  }

  /** A missing bucket also answers null here: HEAD responses carry no error code to tell them apart. */
  async stat(key: string): Promise<ArtifactStat | null> {
    assertArtifactKey(key);
    try {
      const info = await this.#client.statObject(this.bucket, this.#keyPrefix + key);
      return { sizeBytes: info.size };
    } catch (err) {
      if (errorCode(err) === 'NotFound' || errorCode(err) === 'NoSuchKey') return null;
      throw this.#translate(err, key);
    }
  }

  async delete(key: string): Promise<void> {
    assertArtifactKey(key);
    try {
      // S3 answers 204 for a missing key too; NoSuchKey is tolerated for servers that do not.
      await this.#client.removeObject(this.bucket, this.#keyPrefix + key);
    } catch (err) {
      if (errorCode(err) === 'NoSuchKey') return;
      throw this.#translate(err, key);
    }
  }

  async move(from: string, to: string): Promise<void> {
    assertArtifactKey(from);
    assertArtifactKey(to);
    const source = new CopySourceOptions({ Bucket: this.bucket, Object: this.#keyPrefix + from });
    const dest = new CopyDestinationOptions({ Bucket: this.bucket, Object: this.#keyPrefix + to });
    await this.#s3(() => this.#client.copyObject(source, dest), from);
    await this.delete(from);
  }

  async *list(prefix: string): AsyncIterable<string> {
    assertArtifactPrefix(prefix);
    let continuationToken = '';
    for (;;) {
      const token = continuationToken;
      const page = await this.#s3(() =>
        this.#client.listObjectsV2Query(this.bucket, this.#keyPrefix + prefix, token, '', this.#listPageSize, ''),
      );
      for (const item of page.objects) {
        if (item.name !== undefined) yield item.name.slice(this.#keyPrefix.length);
      }
      if (!page.isTruncated) return;
      if (!page.nextContinuationToken) {
        throw new Error(`S3 listing of bucket "${this.bucket}" is truncated but has no continuation token`);
      }
      continuationToken = page.nextContinuationToken;
    }
  }

  uriFor(key: string): string {
    assertArtifactKey(key);
    return `s3://${this.bucket}/${this.#keyPrefix}${key}`;
  }

  async ping(): Promise<void> {
    if (!(await this.#s3(() => this.#client.bucketExists(this.bucket)))) {
      throw new ArtifactStoreUnavailableError(`S3 bucket "${this.bucket}" does not exist (was init() called?)`);
    }
  }

  /**
   * Best effort: when the abort itself fails (S3 down), the upload's parts stay until a bucket
   * lifecycle rule (AbortIncompleteMultipartUpload) removes them, so production buckets need one.
   * The put's own error is what the caller needs to see, so the abort's is dropped.
   */
  async #abortUpload(objectName: string, uploadId: string): Promise<void> {
    try {
      await this.#client.abortMultipartUpload(this.bucket, objectName, uploadId);
    } catch {
      return;
    }
  }

  async #s3<T>(operation: () => Promise<T>, key?: string): Promise<T> {
    try {
      return await operation();
    } catch (err) {
      throw this.#translate(err, key);
    }
  }

  /** minio's errors as the project's; `key` is given for operations on one object. Unknown errors pass through. */
  #translate(err: unknown, key?: string): unknown {
    if (isRetriesExhausted(err)) {
      return new ArtifactStoreUnavailableError('S3 kept answering with server errors', err);
    }
    const code = errorCode(err);
    if (code === undefined) return err;
    if (key !== undefined && (code === 'NoSuchKey' || code === 'NotFound')) return new ArtifactNotFoundError(key);
    if (key !== undefined && code === 'InvalidRange') return new ArtifactRangeNotSatisfiableError(key);
    if (code === 'NoSuchBucket') {
      return new ArtifactStoreUnavailableError(`S3 bucket "${this.bucket}" does not exist (was init() called?)`, err);
    }
    if (CREDENTIAL_ERROR_CODES.has(code)) {
      return new ArtifactStoreUnavailableError(
        `S3 refused access to bucket "${this.bucket}" (${code}): check S3_ACCESS_KEY and S3_SECRET_KEY`,
        err,
      );
    }
    if (NETWORK_ERROR_CODES.has(code)) {
      return new ArtifactStoreUnavailableError(`S3 endpoint is unreachable (${code}): check S3_ENDPOINT`, err);
    }
    return err;
  }
}

/** The S3 error code (S3Error.code) or the socket error code (ECONNREFUSED). */
function errorCode(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** minio retries a 5xx answer (SlowDown, InternalError) once, then throws a plain Error that says so and nothing else. */
function isRetriesExhausted(err: unknown): boolean {
  return err instanceof Error && /^Request failed after \d+ retries/.test(err.message);
}
