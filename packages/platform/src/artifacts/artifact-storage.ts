import type { Readable } from 'node:stream';

import { BadRequestError } from '../errors.js';
import { InvalidArtifactKeyError } from './artifact-errors.js';

/**
 * Where model artifacts (ONNX files, datasets, reports) live. Artifacts are immutable and
 * content-addressed: the caller derives the key from the content, so a key always names the same
 * bytes. Bodies are streamed in and out, never held whole in memory.
 *
 * Every implementation behaves the same way (the shared contract suite in
 * `artifact-storage.contract.ts` runs against each):
 * - `init()` must have succeeded once before anything else is called.
 * - Keys are validated by `assertArtifactKey` before any I/O; a bad key is an
 *   `InvalidArtifactKeyError` (400), whatever the operation.
 * - A failed `put` leaves nothing behind: no object, no partial file, no open multipart upload.
 * - Errors are the project's `AppError`s: `ArtifactNotFoundError` (404), `PayloadTooLargeError`
 *   (413), `ArtifactChecksumMismatchError` (422), `ArtifactRangeNotSatisfiableError` (416),
 *   `ArtifactStoreUnavailableError` (503). Anything else is a bug or an unexpected outage.
 */
export interface ArtifactStorage {
  readonly kind: 'file' | 's3';

  /**
   * Creates the bucket or folder if it is missing. Idempotent, and safe when several processes
   * start at once (S3 answers `BucketAlreadyOwnedByYou` to the loser of that race).
   */
  init(): Promise<void>;

  /**
   * Streams `body` to `key`, computing size and sha256 on the way, and makes the artifact visible
   * only once it is complete: a reader sees the previous artifact or the whole new one, never a
   * prefix.
   *
   * Overwriting is allowed (last writer wins, atomically). Keys are content-addressed, so a second
   * put of a key carries the same bytes; refusing it would cost an extra round trip per put and
   * would make retries after an ambiguous failure fail. Pass `expectedSha256` to have the store
   * refuse a body that does not match the key's content before it becomes visible.
   *
   * `put` owns `body`: it is read to the end on success and destroyed on failure (the usual
   * `stream.pipeline` rule), so do not pass a raw HTTP request you still want to answer on.
   */
  put(key: string, body: Readable, opts?: ArtifactPutOptions): Promise<ArtifactPutResult>;

  /**
   * Streams the artifact. Rejects with `ArtifactNotFoundError` before returning a stream when the
   * key is missing; errors after that (connection lost) are emitted by the stream. The caller must
   * consume or destroy the stream, or the file descriptor / connection stays open.
   */
  get(key: string, opts?: ArtifactGetOptions): Promise<Readable>;

  /** Size of the artifact, or null when there is none under the key. */
  stat(key: string): Promise<ArtifactStat | null>;

  /** Removes the artifact. Idempotent: deleting a missing key succeeds. */
  delete(key: string): Promise<void>;

  /**
   * Gives the artifact under `from` a new key: afterwards `to` holds its bytes (replacing what was
   * there) and `from` is gone. Lets a body be streamed in before its content address is known.
   * The file store renames (atomic); S3 copies on the server (objects up to 5 GiB, S3's limit for
   * one copy) and then deletes `from`. A missing `from` is `ArtifactNotFoundError`. A failure
   * after the copy can leave both keys; the caller's cleanup of `from` handles that.
   */
  move(from: string, to: string): Promise<void>;

  /**
   * Every key that starts with `prefix` (a plain string prefix as in S3, so "models/ab" matches
   * "models/abc/x"), in ascending byte order, fetched page by page underneath. Pass "" for all.
   * Keys written concurrently with the listing may or may not appear.
   */
  list(prefix: string): AsyncIterable<string>;

  /** Where the artifact lives: `s3://bucket/[prefix/]key` or `file:///dir/key`. No I/O. */
  uriFor(key: string): string;

  /** For /readyz: resolves when the store is reachable and usable, else rejects with `ArtifactStoreUnavailableError`. */
  ping(): Promise<void>;
}

export interface ArtifactPutOptions {
  /** Upper bound on the body; one byte more aborts the put with `PayloadTooLargeError`. */
  maxBytes?: number;
  /** Stored with the object on S3 (served back by presigned URLs); ignored by the file store. Default application/octet-stream. */
  contentType?: string;
  /** Lowercase hex sha256 the body must have; a mismatch is `ArtifactChecksumMismatchError` and nothing is stored. */
  expectedSha256?: string;
}

export interface ArtifactPutResult {
  key: string;
  uri: string;
  sizeBytes: number;
  /** Lowercase hex sha256 of the bytes stored. */
  sha256: string;
}

export interface ArtifactGetOptions {
  range?: ByteRange;
}

/**
 * Bytes `start` to `end`, both inclusive as in HTTP `Range: bytes=start-end`; `end` past the last
 * byte is clipped to it, a missing `end` means "to the end". A `start` at or past the end is
 * `ArtifactRangeNotSatisfiableError`, except `{ start: 0 }` which always means the whole artifact
 * (so it also works on an empty one).
 */
export interface ByteRange {
  start: number;
  end?: number;
}

export interface ArtifactStat {
  sizeBytes: number;
}

export const DEFAULT_ARTIFACT_CONTENT_TYPE = 'application/octet-stream';

/**
 * A segment starts with a letter, digit, "_" or "-" and continues with those or ".". Not starting
 * with "." rules out ".", ".." and hidden names, which the file store keeps for itself (`.tmp`).
 * The character set needs no escaping in URLs, S3 object names or file names. 255 is the usual
 * file-name limit (NAME_MAX).
 */
const SEGMENT = '[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}';
const KEY_PATTERN = new RegExp(`^${SEGMENT}(?:/${SEGMENT})*$`);
/** S3's limit on object names is 1,024 bytes; the S3 store's own prefix needs some of it. */
const MAX_KEY_LENGTH = 900;
const SHA256_PATTERN = /^[0-9a-f]{64}$/;

/**
 * Keys are relative, "/"-separated paths: no leading or trailing "/", no empty, "." or ".."
 * segment, only [A-Za-z0-9._-]. This is what keeps the file store inside its folder (no path
 * traversal) and makes a key mean the same object in every implementation.
 */
export function assertArtifactKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new InvalidArtifactKeyError('artifact key must be a non-empty string');
  }
  if (key.length > MAX_KEY_LENGTH) {
    throw new InvalidArtifactKeyError(`artifact key is longer than ${MAX_KEY_LENGTH} characters`);
  }
  if (!KEY_PATTERN.test(key)) {
    throw new InvalidArtifactKeyError(
      `artifact key "${key}" is not a relative path of [A-Za-z0-9._-] segments (no empty, "." or ".." segment, no leading "/")`,
    );
  }
}

/** A list prefix is "" or a key, optionally followed by "/". */
export function assertArtifactPrefix(prefix: unknown): asserts prefix is string {
  if (prefix === '') return;
  if (typeof prefix !== 'string') throw new InvalidArtifactKeyError('artifact prefix must be a string');
  assertArtifactKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}

export function assertByteRange(range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0) {
    throw new BadRequestError('range start must be a non-negative integer', { start }, 'invalid_range');
  }
  if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) {
    throw new BadRequestError('range end must be an integer not below start', { start, end }, 'invalid_range');
  }
}

/**
 * Validates `put`'s arguments before any I/O. `put` owns its body, so on a bad argument the body is
 * destroyed here too, as it would be on any later failure.
 */
export function assertPutArguments(key: unknown, body: Readable, opts: ArtifactPutOptions): asserts key is string {
  try {
    assertArtifactKey(key);
    assertPutOptions(opts);
  } catch (err) {
    body.destroy();
    throw err;
  }
}

export function assertPutOptions(opts: ArtifactPutOptions): void {
  if (opts.maxBytes !== undefined && (!Number.isSafeInteger(opts.maxBytes) || opts.maxBytes < 0)) {
    throw new BadRequestError('maxBytes must be a non-negative integer', { maxBytes: opts.maxBytes });
  }
  if (opts.expectedSha256 !== undefined && !SHA256_PATTERN.test(opts.expectedSha256)) {
    throw new BadRequestError('expectedSha256 must be 64 lowercase hex digits', undefined, 'invalid_sha256');
  }
}

/** Whether a range asks for nothing that exists (see `ByteRange`). */
export function isUnsatisfiableRange(range: ByteRange, sizeBytes: number): boolean {
  if (range.start === 0 && range.end === undefined) return false;
  return range.start >= sizeBytes;
}
