import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { RegistryClient } from '@contender/sdk';
import { UnrecoverableStepError } from '@contender/pipeline';

/**
 * Streams a dataset version's bytes from the registry into `dest` (never held whole) and checks
 * them against the sha256 the registry recorded: a version is immutable, so a different hash is a
 * fault of the store, not something a retry can mend quietly.
 */
export async function downloadDatasetVersion(
  registry: RegistryClient,
  ref: { name: string; version: number },
  expectedSha256: string,
  dest: string,
  signal: AbortSignal,
): Promise<{ path: string; sizeBytes: number }> {
  const body = await registry.datasetContent(ref, { signal });
  const hash = createHash('sha256');
  let sizeBytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      sizeBytes += chunk.length;
      done(null, chunk);
    },
  });
  await pipeline(Readable.fromWeb(body as WebReadableStream<Uint8Array>), tap, createWriteStream(dest), { signal });
  const sha = hash.digest('hex');
  if (sha !== expectedSha256) {
    throw new Error(`dataset ${ref.name}@${ref.version}: the content's sha256 is ${sha}, the registry recorded ${expectedSha256}`);
  }
  return { path: dest, sizeBytes };
}

/** The registry's 404 for a dataset reference as an error no retry can mend. */
export function datasetNotFound(err: unknown, ref: string): never {
  if (err && typeof err === 'object' && (err as { status?: number }).status === 404) {
    throw new UnrecoverableStepError(`dataset ${ref} does not exist in the registry`, { dataset: ref });
  }
  throw err;
}
