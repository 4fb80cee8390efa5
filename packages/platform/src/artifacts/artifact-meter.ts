import { createHash, type Hash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { PayloadTooLargeError } from '../errors.js';
import { ArtifactChecksumMismatchError } from './artifact-errors.js';

/**
 * Pass-through stage of every put: counts bytes, hashes them with sha256 and fails the pipeline
 * with `PayloadTooLargeError` as soon as the body grows past `maxBytes`, so an oversized upload is
 * cut off after maxBytes + one chunk instead of being stored first and measured afterwards.
 */
export class ArtifactMeter extends Transform {
  #sizeBytes = 0;
  readonly #hash: Hash = createHash('sha256');
  #sha256: string | undefined;

  constructor(private readonly maxBytes?: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#sizeBytes += chunk.length;
    if (this.maxBytes !== undefined && this.#sizeBytes > this.maxBytes) {
      callback(
        new PayloadTooLargeError(`artifact is larger than the limit of ${this.maxBytes} bytes`, {
          maxBytes: this.maxBytes,
        }),
      );
      return;
    }
    this.#hash.update(chunk);
    callback(null, chunk);
  }

  /** Size and sha256 of everything that passed; call only once the body has ended. */
  result(): { sizeBytes: number; sha256: string } {
    this.#sha256 ??= this.#hash.digest('hex');
    return { sizeBytes: this.#sizeBytes, sha256: this.#sha256 };
  }

  /** Throws `ArtifactChecksumMismatchError` unless the body hashed to `expectedSha256` (when given). */
  verify(expectedSha256: string | undefined): { sizeBytes: number; sha256: string } {
    const result = this.result();
    if (expectedSha256 !== undefined && expectedSha256 !== result.sha256) {
      throw new ArtifactChecksumMismatchError(expectedSha256, result.sha256);
    }
    return result;
  }
}

/**
 * `pipeline(body, meter, sink)` that settles only once `sink` has. pipeline itself rejects as soon
 * as a stream fails, while the sink may still be awaiting a write or an upload request; cleanup run
 * at that moment would miss what that request then creates (a multipart upload initiated after the
 * abort, a write after the unlink). After a failure the sink's next read of `source` throws, so it
 * settles right after its current request does.
 */
export async function pipeThroughMeter(
  body: Readable,
  meter: ArtifactMeter,
  sink: (source: AsyncIterable<Buffer>) => Promise<void>,
): Promise<void> {
  const running: { sink?: Promise<void> } = {};
  try {
    await pipeline(body, meter, (source: AsyncIterable<Buffer>) => (running.sink = sink(source)));
  } finally {
    await running.sink?.catch(() => undefined);
  }
}
