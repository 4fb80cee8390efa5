import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { Readable } from 'node:stream';

/** Bytes for one multipart part: whole (small JSON, an ONNX buffer) or streamed (a file, a generator). */
export type PartBody = string | Uint8Array | AsyncIterable<Uint8Array | string>;

export interface MultipartPart {
  name: string;
  filename?: string;
  contentType: string;
  body: PartBody;
}

/** Where a file part's bytes come from: a path on disk (streamed), a buffer, or an async iterable (streamed). */
export type FileSource = string | Uint8Array | AsyncIterable<Uint8Array | string>;

/** A file source as a part body, and the filename to send with it. */
export function fileSource(source: FileSource, fallbackName: string): { body: PartBody; filename: string } {
  if (typeof source === 'string') return { body: createReadStream(source), filename: basename(source) };
  return { body: source, filename: fallbackName };
}

/**
 * A multipart/form-data body written as it is read, so a file of any size goes out without being
 * held in memory. The stream is single-use: a request with it cannot be replayed (the registry's
 * Idempotency-Key makes a fresh upload of the same bytes safe instead).
 */
export function multipartBody(parts: readonly MultipartPart[]): { body: ReadableStream<Uint8Array>; contentType: string } {
  const boundary = `----contender-${randomBytes(12).toString('hex')}`;
  const enc = new TextEncoder();
  async function* generate(): AsyncGenerator<Uint8Array> {
    for (const p of parts) {
      const disposition = `form-data; name="${quote(p.name)}"${p.filename !== undefined ? `; filename="${quote(p.filename)}"` : ''}`;
      yield enc.encode(`--${boundary}\r\nContent-Disposition: ${disposition}\r\nContent-Type: ${p.contentType}\r\n\r\n`);
      if (typeof p.body === 'string') yield enc.encode(p.body);
      else if (p.body instanceof Uint8Array) yield p.body;
      else for await (const chunk of p.body) yield typeof chunk === 'string' ? enc.encode(chunk) : chunk;
      yield enc.encode('\r\n');
    }
    yield enc.encode(`--${boundary}--\r\n`);
  }
  const body = Readable.toWeb(Readable.from(generate(), { objectMode: false })) as ReadableStream<Uint8Array>;
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

function quote(s: string): string {
  return s.replace(/[\r\n"\\]/g, (c) => encodeURIComponent(c));
}
