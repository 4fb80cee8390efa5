import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Histogram } from 'prom-client';
import { AppError, RateLimitedError, requestIdOf, toAppError, type Logger, type RequestRateLimiter } from '@contender/platform';
import { IntrospectionAuth, type Principal } from '../auth/introspection-auth.js';
import type { PredictService } from './predict-service.js';
import { validatePredictRequest } from './validate-predict-request.js';

export interface PredictHandlerDeps {
  service: PredictService;
  auth: IntrospectionAuth;
  /** Per-key limits: one Redis call per request while enabled. */
  rateLimiter?: RequestRateLimiter;
  logger: Logger;
  maxBodyBytes: number;
  /** The shared HTTP duration histogram, so /predict appears in it like every express route. */
  httpDuration: Histogram<'method' | 'route' | 'status'> | undefined;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * `POST /predict` on plain node:http: express's routing and body parsing cost more than the
 * prediction itself, and this is the route that carries the load. It does what the express stack
 * would — request id, auth, 1 MiB cap, JSON parsing, validation, the same error shape
 * `{ error: { code, message, details, requestId } }`, the duration histogram — and nothing else.
 */
export function createPredictHandler(deps: PredictHandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { service, auth, logger, maxBodyBytes } = deps;
  const limiter = deps.rateLimiter?.enabled ? deps.rateLimiter : undefined;
  const durationByStatus = new Map<number, { observe(v: number): void }>();
  const observe = (status: number, startedAt: number) => {
    if (!deps.httpDuration) return;
    let child = durationByStatus.get(status);
    if (!child) {
      child = deps.httpDuration.labels('POST', '/predict', String(status));
      durationByStatus.set(status, child);
    }
    child.observe((performance.now() - startedAt) / 1000);
  };

  const sendError = (res: ServerResponse, requestId: string, startedAt: number, err: unknown, close = false) => {
    const appErr = toAppError(err);
    // 503s are expected during an outage and counted elsewhere; logging each would flood the log.
    if (appErr.status >= 500 && appErr.status !== 503) {
      logger.error({ err, requestId, method: 'POST', path: '/predict' }, 'request failed');
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = JSON.stringify({
      error: { code: appErr.code, message: appErr.message, details: appErr.details ?? null, requestId },
    });
    const headers: Record<string, string | number> = {
      'Content-Type': JSON_TYPE,
      'Content-Length': Buffer.byteLength(body),
      'X-Request-Id': requestId,
    };
    if (close) headers.Connection = 'close';
    if (appErr instanceof RateLimitedError) headers['Retry-After'] = appErr.retryAfterSeconds;
    res.writeHead(appErr.status, headers);
    res.end(body);
    observe(appErr.status, startedAt);
  };

  const answer = async (text: string, principalOrPromise: Principal | Promise<Principal>, requestId: string, startedAt: number) => {
    let body: unknown;
    if (text.length === 0) body = undefined;
    else {
      try {
        body = JSON.parse(text);
      } catch (err) {
        throw new AppError(400, 'malformed_json', `request body is not valid JSON: ${(err as Error).message}`);
      }
    }
    const principal = principalOrPromise instanceof Promise ? await principalOrPromise : principalOrPromise;
    if (limiter) await limiter.consumeKey(principal.role, principal.keyId ?? principal.name);
    IntrospectionAuth.requireRole(principal, 'predictor', 'POST /predict');
    const request = validatePredictRequest(body);
    return service.predict(request, principal, requestId, startedAt);
  };

  return (req, res) => {
    const startedAt = performance.now();
    const requestId = requestIdOf(req.headers['x-request-id']);
    let principal: Principal | Promise<Principal>;
    try {
      principal = auth.authenticate(req.headers.authorization);
      if (principal instanceof Promise) principal.catch(() => {}); // observed below; avoid an unhandled rejection meanwhile
      const type = req.headers['content-type'];
      if (type === undefined || !/^application\/json\s*(;|$)/i.test(type)) {
        throw new AppError(415, 'unsupported_media_type', 'Content-Type must be application/json');
      }
      const encoding = req.headers['content-encoding'];
      if (encoding !== undefined && encoding !== 'identity') {
        throw new AppError(415, 'unsupported_media_type', `Content-Encoding ${encoding} is not supported; send the body uncompressed`);
      }
      const declared = req.headers['content-length'];
      if (declared !== undefined && Number(declared) > maxBodyBytes) {
        sendError(res, requestId, startedAt, tooLarge(maxBodyBytes), true);
        return;
      }
    } catch (err) {
      sendError(res, requestId, startedAt, err);
      return;
    }

    const chunks: Buffer[] = [];
    let size = 0;
    let rejected = false;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        rejected = true;
        // Answer now and stop reading: the rest stays unread and the connection closes after the answer.
        req.off('data', onData);
        req.pause();
        chunks.length = 0;
        sendError(res, requestId, startedAt, tooLarge(maxBodyBytes), true);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('error', () => {
      rejected = true;
    });
    req.on('end', () => {
      if (rejected) return;
      const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8');
      answer(text, principal, requestId, startedAt).then(
        (response) => {
          const json = JSON.stringify(response);
          res.writeHead(200, {
            'Content-Type': JSON_TYPE,
            'Content-Length': Buffer.byteLength(json),
            'X-Request-Id': requestId,
          });
          res.end(json);
          observe(200, startedAt);
        },
        (err: unknown) => sendError(res, requestId, startedAt, err),
      );
    });
  };
}

function tooLarge(limit: number): AppError {
  return new AppError(413, 'payload_too_large', `request body exceeds the limit of ${limit} bytes`);
}
