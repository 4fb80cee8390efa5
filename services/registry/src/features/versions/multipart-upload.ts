import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import type { Request } from 'express';
import { AppError, BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from '@contender/platform';

export interface ReceivedUpload {
  /**
   * The artifact, streamed to `model.onnx` in a staging folder of this upload alone (created
   * empty, mode 0700): never held whole in memory, and nothing else sits next to it that a
   * model could name.
   */
  file: { path: string; sha256: string; sizeBytes: number };
  /** The `metadata` part's text, or null when the request had none. */
  metadata: string | null;
  /** Removes the staging folder. Safe to call more than once. */
  cleanup(): Promise<void>;
}

export interface UploadLimits {
  tmpDir: string;
  maxArtifactBytes: number;
  maxMetadataBytes: number;
}

/**
 * Reads a `multipart/form-data` version upload: one file part `artifact` (the .onnx, hashed on
 * the way to a temp file) and an optional part `metadata` (JSON, as a field or a file part).
 * Anything else is refused, naming the part.
 */
export async function receiveUpload(req: Request, limits: UploadLimits): Promise<ReceivedUpload> {
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data/i.test(type)) {
    throw new UnsupportedMediaTypeError(
      `a version upload is multipart/form-data with a file part "artifact" and a JSON part "metadata" (got content-type "${type || 'none'}")`,
    );
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.maxArtifactBytes + limits.maxMetadataBytes + 64 * 1024) {
    throw tooLarge(limits.maxArtifactBytes);
  }

  // A fresh folder per upload (mkdtemp creates it 0700): onnxruntime resolves a tensor's external
  // data relative to the model file, so the model must never share a folder with anything else.
  const stagingDir = await mkdtemp(path.join(limits.tmpDir, 'contender-upload-'));
  const tmpPath = path.join(stagingDir, 'model.onnx');
  const cleanup = () => rm(stagingDir, { recursive: true, force: true });
  let bb: busboy.Busboy;
  try {
    bb = busboy({
      headers: req.headers,
      limits: { files: 2, fields: 4, parts: 6, fileSize: limits.maxArtifactBytes, fieldSize: limits.maxMetadataBytes },
    });
  } catch (err) {
    await cleanup();
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
      if (name === 'artifact') {
        if (file || pending.length) return fail(new BadRequestError('more than one "artifact" part', { part: name }, 'unexpected_part'));
        pending.push(
          writeHashed(stream, tmpPath, limits.maxArtifactBytes).then(
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
        fail(new BadRequestError(`unexpected part "${name}" (${info.filename ?? 'file'}); expected "artifact" and "metadata"`, { part: name }, 'unexpected_part'));
      }
    });
    bb.on('field', (name, value, info) => {
      if (name !== 'metadata') {
        return fail(new BadRequestError(`unexpected field "${name}"; expected "artifact" and "metadata"`, { part: name }, 'unexpected_part'));
      }
      if (info.valueTruncated) return fail(new PayloadTooLargeError(`metadata exceeds ${limits.maxMetadataBytes} bytes`, { part: 'metadata' }));
      metadata = value;
    });
    bb.on('partsLimit', () => fail(new BadRequestError('too many parts; expected "artifact" and "metadata"', null, 'unexpected_part')));
    bb.on('filesLimit', () => fail(new BadRequestError('too many file parts; expected one "artifact"', null, 'unexpected_part')));
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
    if (!file) throw new BadRequestError('missing part "artifact": the .onnx file', { part: 'artifact' }, 'missing_part');
    return { file, metadata, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

async function writeHashed(stream: Readable & { truncated?: boolean }, dest: string, maxBytes: number): Promise<ReceivedUpload['file']> {
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
      cb(null, chunk);
    },
  });
  await pipeline(stream, meter, createWriteStream(dest));
  if (truncated || stream.truncated) throw tooLarge(maxBytes);
  if (size === 0) throw new BadRequestError('the "artifact" part is empty', { part: 'artifact' }, 'empty_artifact');
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

function tooLarge(maxBytes: number): PayloadTooLargeError {
  return new PayloadTooLargeError(`the artifact exceeds MAX_ARTIFACT_BYTES (${maxBytes} bytes)`, { maxBytes });
}
