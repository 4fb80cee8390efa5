import type { ServerOptions } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { AppError, PayloadTooLargeError, UnsupportedMediaTypeError } from './errors.js';
import { hasBody } from './http.js';

export interface JsonBodyOptions {
  /**
   * Largest body accepted; a larger one → 413 at once, the rest never read. A function gives a
   * route its own limit (serving's `/predict/batch`, sized from its row limit).
   */
  limitBytes: number | ((req: Request) => number);
  /** The whole body must have arrived this long after reading began, else 408. */
  timeoutMs: number;
}

/**
 * Reads `application/json` bodies into `req.body`, and stops at the first sign of abuse.
 *
 * express.json() (body-parser) answers an oversized or failed body only after reading it to the
 * end, to keep the connection usable: a chunked stream of gigabytes was read whole before its
 * 413. Here the answer goes out as soon as the limit is passed or the deadline is missed, and
 * `errorHandler` closes the connection because the body was not read to its end. Otherwise it
 * keeps body-parser's rules: no body → `req.body` stays undefined, an empty one → `{}`, only an
 * object or array at the top, UTF-8 only. Compressed bodies are refused (415), as /predict does.
 */
export function jsonBody(opts: JsonBodyOptions): RequestHandler {
  return (req, _res, next) => {
    const headers = req.headers;
    if (!hasBody(req)) return next();
    if (!req.is('application/json')) return next();
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(headers['content-type'] ?? '')?.[1]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      return next(new UnsupportedMediaTypeError(`unsupported charset "${charset}"; send UTF-8 JSON`));
    }
    const encoding = headers['content-encoding'];
    if (encoding !== undefined && encoding !== 'identity') {
      return next(new UnsupportedMediaTypeError(`Content-Encoding ${encoding} is not supported; send the body uncompressed`));
    }
    const limitBytes = typeof opts.limitBytes === 'number' ? opts.limitBytes : opts.limitBytes(req);
    const declared = Number(headers['content-length']);
    if (Number.isFinite(declared) && declared > limitBytes) return next(tooLarge(limitBytes));

    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (err: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (err) {
        // Stop reading: what is still on its way stays in the socket, which is closed after the answer.
        req.pause();
        next(err);
        return;
      }
      next();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) return finish(tooLarge(limitBytes));
      chunks.push(chunk);
    };
    const onEnd = () => {
      const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8');
      try {
        req.body = parseJson(text);
      } catch (err) {
        return finish(err);
      }
      finish(null);
    };
    const onError = () => finish(new AppError(400, 'request_aborted', 'the client aborted the request'));
    const onAborted = onError;
    const timer = setTimeout(
      () => finish(new AppError(408, 'request_timeout', `the request body did not arrive within ${opts.timeoutMs} ms`, { timeoutMs: opts.timeoutMs })),
      opts.timeoutMs,
    );
    timer.unref();
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  };
}

function parseJson(text: string): unknown {
  if (text.length === 0) return {};
  const first = /\S/.exec(text)?.[0];
  if (first !== '{' && first !== '[') {
    throw new AppError(400, 'malformed_json', 'request body is not valid JSON: the top level must be an object or an array');
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new AppError(400, 'malformed_json', `request body is not valid JSON: ${(err as Error).message}`);
  }
}

function tooLarge(limit: number): PayloadTooLargeError {
  return new PayloadTooLargeError(`request body exceeds the limit of ${limit} bytes`, { limitBytes: limit });
}

export interface ServerTimeouts {
  HTTP_HEADERS_TIMEOUT_MS: number;
  HTTP_REQUEST_TIMEOUT_MS: number;
}

/**
 * node:http options every service listens with: headers must be complete within
 * `HTTP_HEADERS_TIMEOUT_MS` and the whole request (large uploads included) within
 * `HTTP_REQUEST_TIMEOUT_MS`, else node answers 408 and closes. node checks these on an interval
 * (30 s by default), which is shortened so a short timeout is kept to within a second or so.
 */
export function httpServerOptions(cfg: ServerTimeouts): ServerOptions {
  return {
    keepAliveTimeout: 65_000, // longer than common load balancers' idle timeout
    headersTimeout: Math.min(cfg.HTTP_HEADERS_TIMEOUT_MS, cfg.HTTP_REQUEST_TIMEOUT_MS),
    requestTimeout: cfg.HTTP_REQUEST_TIMEOUT_MS,
    connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(cfg.HTTP_HEADERS_TIMEOUT_MS / 4))),
  };
}
