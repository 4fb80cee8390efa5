import {
  AppError,
  BadRequestError,
  ConflictError,
  NotFoundError,
  ServiceUnavailableError,
  UnprocessableError,
} from '../errors.js';

/** 404: no artifact is stored under the key (never written, deleted, or the key names a folder). */
export class ArtifactNotFoundError extends NotFoundError {
  constructor(readonly key: string) {
    super(`artifact "${key}" does not exist`, 'artifact_not_found');
  }
}

/** 400: the key breaks the rules in `assertArtifactKey` (path traversal, empty segment, odd characters). */
export class InvalidArtifactKeyError extends BadRequestError {
  constructor(message: string) {
    super(message, undefined, 'invalid_artifact_key');
  }
}

/** 422: the body's sha256 is not the one the caller declared; nothing was stored. */
export class ArtifactChecksumMismatchError extends UnprocessableError {
  constructor(expectedSha256: string, actualSha256: string) {
    super('checksum_mismatch', 'the artifact body does not match the declared sha256', {
      expectedSha256,
      actualSha256,
    });
  }
}

/** 416: the requested range starts at or past the end of the artifact. */
export class ArtifactRangeNotSatisfiableError extends AppError {
  constructor(key: string, details?: { sizeBytes: number }) {
    super(416, 'range_not_satisfiable', `the requested range lies outside artifact "${key}"`, details);
  }
}

/**
 * 409: the file store cannot hold both "a" and "a/b" (one would have to be a file and a folder at
 * once). Content-addressed key layouts never produce this; S3 would accept it.
 */
export class ArtifactKeyConflictError extends ConflictError {
  constructor(key: string) {
    super(`artifact key "${key}" collides with a folder or file of another key`, undefined, 'artifact_key_conflict');
  }
}

/**
 * 503: the store cannot be used right now (unreachable, credentials rejected, bucket or folder
 * missing). Clients may retry; /readyz reports it. The underlying error is kept as `cause` for logs
 * and never sent to clients.
 */
export class ArtifactStoreUnavailableError extends ServiceUnavailableError {
  constructor(message: string, cause?: unknown) {
    super('artifact_store_unavailable', message);
    if (cause !== undefined) this.cause = cause;
  }
}
