import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import type { Request } from 'express';
import { AppError, BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from '@contender/platform';

export interface ReceivedUpload {
  /** The file, streamed to a temp file (`path`; '' when the spec has a `sink`): never held whole in memory. */
  file: { path: string; sha256: string; sizeBytes: number };
  /** The `metadata` part's text, or null when the request had none. */
  metadata: string | null;
  /** Removes the temp file (or has the sink discard what it wrote). Safe to call more than once. */
  cleanup(): Promise<void>;
}

export interface UploadLimits {
  tmpDir: string;
  /** Largest file part (for dataset uploads: MAX_DATASET_BYTES). */
  maxArtifactBytes: number;
  maxMetadataBytes: number;
}

/** The file part an upload carries, and what checks it on the way. */
export interface FilePartSpec {
  /** the part's name, e.g. "artifact" */
  name: string;
  /** for messages, e.g. "the .onnx file" */
  description: string;
  /** the setting that bounds it, for the 413 message */
  limitName: string;
  /** of the temp file */
  extension: string;
  /** An empty part is passed to `inspect` (which decides) instead of refused with 400. */
  allowEmpty?: boolean;
  /**
   * Sees every chunk on its way and the end of the part; a throw refuses the upload. The end is
   * checked before the body ends, so a sink sees a refused body fail rather than complete.
   */
  inspect?: { push(chunk: Buffer): void; end(): void };
  /**
   * Where the body goes instead of a temp file, e.g. straight to the artifact store. `write`
   * consumes the body and rejects when it fails (a failed body must leave nothing there);
   * `discard` removes what `write` stored, and is called by `cleanup` and on any failure.
   */
  sink?: { write(body: Readable): Promise<void>; discard(): Promise<void> };
}

/** A model version's ONNX file. */
export const ARTIFACT_PART: FilePartSpec = { name: 'artifact', description: 'the .onnx file', limitName: 'MAX_ARTIFACT_BYTES', extension: '.onnx' };

/**
 * Reads a `multipart/form-data` version upload: one file part (`artifact`, the .onnx, by default;
 * hashed, and inspected when the spec says so, on the way to a temp file) and an optional part
 * `metadata` (JSON, as a field or a file part). Anything else is refused, naming the part.
 */
export async function receiveUpload(req: Request, limits: UploadLimits, part: FilePartSpec = ARTIFACT_PART): Promise<ReceivedUpload> {
  const type = req.headers['content-type'] ?? '';
  const expected = `"${part.name}" and "metadata"`;
  if (!/^multipart\/form-data/i.test(type)) {
    throw new UnsupportedMediaTypeError(
      `a version upload is multipart/form-data with a file part "${part.name}" and a JSON part "metadata" (got content-type "${type || 'none'}")`,
    );
  }
  const tooLarge = () => new PayloadTooLargeError(`the ${part.name} exceeds ${part.limitName} (${limits.maxArtifactBytes} bytes)`, { maxBytes: limits.maxArtifactBytes });
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.maxArtifactBytes + limits.maxMetadataBytes + 64 * 1024) {
    throw tooLarge();
  }

  const tmpPath = part.sink ? '' : path.join(limits.tmpDir, `upload-${randomUUID()}${part.extension}`);
  const cleanup = () => (part.sink ? part.sink.discard() : rm(tmpPath, { force: true }));
  let bb: busboy.Busboy;
  try {
    bb = busboy({
      headers: req.headers,
      limits: { files: 2, fields: 4, parts: 6, fileSize: limits.maxArtifactBytes, fieldSize: limits.maxMetadataBytes },
    });
  } catch (err) {
    throw new BadRequestError(`malformed multipart request: ${(err as Error).message}`, null, 'malformed_multipart');
  }

  let metadata: string | null = null;
  let file: ReceivedUpload['file'] | null = null;
  const pending: Promise<unknown>[] = [];

  const done = new Promise<void>((resolve, reject) => {
    const fail = (err: unknown) => {
      // Stop parsing, but drain the rest of the body so the error response reaches the client
      // instead of a reset connection.
      req.unpipe(bb);
      req.resume();
      reject(err);
    };
    bb.on('file', (name, stream, info) => {
      if (name === part.name) {
        if (file || pending.length) return fail(new BadRequestError(`more than one "${part.name}" part`, { part: name }, 'unexpected_part'));
        pending.push(
          writeHashed(stream, tmpPath, part, tooLarge).then(
            (f) => {
              file = f;
            },
            (err) => fail(err),
          ),
        );
      } else if (name === 'metadata') {
        pending.push(
          readText(stream, limits.maxMetadataBytes).then(
            (text) => {
              metadata = text;
            },
            (err) => fail(err),
          ),
        );
      } else {
        stream.resume();
        fail(new BadRequestError(`unexpected part "${name}" (${info.filename ?? 'file'}); expected ${expected}`, { part: name }, 'unexpected_part'));
      }
    });
    bb.on('field', (name, value, info) => {
      if (name !== 'metadata') {
        return fail(new BadRequestError(`unexpected field "${name}"; expected ${expected}`, { part: name }, 'unexpected_part'));
      }
      if (info.valueTruncated) return fail(new PayloadTooLargeError(`metadata exceeds ${limits.maxMetadataBytes} bytes`, { part: 'metadata' }));
      metadata = value;
    });
    bb.on('partsLimit', () => fail(new BadRequestError(`too many parts; expected ${expected}`, null, 'unexpected_part')));
    bb.on('filesLimit', () => fail(new BadRequestError(`too many file parts; expected one "${part.name}"`, null, 'unexpected_part')));
    bb.on('fieldsLimit', () => fail(new BadRequestError('too many fields; expected "metadata"', null, 'unexpected_part')));
    bb.on('error', (err) => fail(new BadRequestError(`malformed multipart request: ${(err as Error).message}`, null, 'malformed_multipart')));
    bb.on('close', () => {
      Promise.all(pending).then(() => resolve(), reject);
    });
    req.on('aborted', () => fail(new AppError(400, 'request_aborted', 'the client aborted the upload')));
    req.pipe(bb);
  });

  try {
    await done;
    if (!file) throw new BadRequestError(`missing part "${part.name}": ${part.description}`, { part: part.name }, 'missing_part');
    return { file, metadata, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

async function writeHashed(
  stream: Readable & { truncated?: boolean },
  dest: string,
  part: FilePartSpec,
  tooLarge: () => PayloadTooLargeError,
): Promise<ReceivedUpload['file']> {
  const hash = createHash('sha256');
  let size = 0;
  let truncated = false;
  stream.on('limit', () => {
    truncated = true;
  });
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      try {
        part.inspect?.push(chunk);
      } catch (err) {
        cb(err as Error);
        return;
      }
      cb(null, chunk);
    },
    // Before the body ends: a too-large or refused body fails at its sink instead of completing.
    flush(cb) {
      if (truncated || stream.truncated) return cb(tooLarge());
      try {
        part.inspect?.end();
      } catch (err) {
        return cb(err as Error);
      }
      cb();
    },
  });
  if (part.sink) {
    const [piped, written] = await Promise.allSettled([pipeline(stream, meter), part.sink.write(meter)]);
    // The body's own refusal (an AppError from the meter) names the cause; else the sink's failure.
    if (piped.status === 'rejected' && piped.reason instanceof AppError) throw piped.reason;
    if (written.status === 'rejected') throw written.reason;
    if (piped.status === 'rejected') throw piped.reason;
  } else {
    await pipeline(stream, meter, createWriteStream(dest));
  }
  if (size === 0 && !part.allowEmpty) throw new BadRequestError(`the "${part.name}" part is empty`, { part: part.name }, 'empty_artifact');
  return { path: dest, sha256: hash.digest('hex'), sizeBytes: size };
}

async function readText(stream: Readable & { truncated?: boolean }, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let truncated = false;
  stream.on('limit', () => {
    truncated = true;
  });
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) truncated = true;
    else chunks.push(chunk as Buffer);
  }
  if (truncated || stream.truncated) throw new PayloadTooLargeError(`metadata exceeds ${maxBytes} bytes`, { part: 'metadata' });
  return Buffer.concat(chunks).toString('utf8');
}
