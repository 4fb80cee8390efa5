import { randomUUID } from 'node:crypto';
import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { AppError, ValidationError, isAppError } from './errors.js';
import type { Logger } from './logger.js';
import { createHttpDurationHistogram } from './metrics.js';
import { DOCS_PAGE_STYLE_HASH, renderDocsPage } from './docs-page.js';
import { swaggerUiAssets, swaggerUiHeaders, swaggerUiPage } from './swagger-ui.js';
import { jsonBody } from './json-body.js';
import { RateLimitedError } from './rate-limit.js';

export interface ReadinessCheck {
  ok: boolean;
  detail?: string;
}
export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, ReadinessCheck>;
}

export interface HttpAppOptions {
  service: string;
  logger: Logger;
  metrics: Registry;
  /** Largest JSON body accepted; larger → 413, answered at once and the connection closed. */
  jsonLimitBytes?: number;
  /** A route's own limit, where it differs from `jsonLimitBytes` (undefined = `jsonLimitBytes`). */
  jsonLimitBytesFor?: (req: Request) => number | undefined;
  /** A JSON body must arrive completely within this, else 408 and the connection closed (default 10 s). */
  bodyTimeoutMs?: number;
  /**
   * Runs before any body is read (the registry checks the API key here, so a request without a
   * valid key is answered 401 without its body being read).
   */
  beforeBody?: RequestHandler;
  readiness: () => Promise<ReadinessReport>;
  openapi: () => object;
  /** True once shutdown has begun: /readyz answers 503 so load balancers stop sending traffic. */
  isShuttingDown?: () => boolean;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      requestId: string;
      /** The router's mount path while it handled the request (see recordMountPath). */
      mountPath?: string;
    }
  }
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Honours a sane incoming `X-Request-Id` (so a caller can correlate), else makes one. */
export function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}

/**
 * Builds the express app with what every service shares: request ids, the request-duration
 * histogram by route template, JSON bodies with a size limit, and /healthz, /readyz, /metrics,
 * /openapi.json, /docs (Swagger UI; /docs/static without a script). The caller mounts its routes, then calls `finishHttpApp` to add the 404 and
 * error handlers. The app never listens; only a service's main.ts does.
 */
export function createHttpApp(opts: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', false);
  const duration = createHttpDurationHistogram(opts.metrics, opts.service);

  app.use((req, res, next) => {
    req.requestId = requestIdOf(req.headers['x-request-id']);
    res.setHeader('X-Request-Id', req.requestId);
    // The one header worth having on every JSON answer: never let a browser sniff one into HTML.
    res.setHeader('X-Content-Type-Options', 'nosniff');
    const end = duration.startTimer();
    res.on('finish', () => {
      // The route template (never the raw path: ids in labels would make the series unbounded).
      const route = req.route?.path ? `${req.mountPath ?? req.baseUrl}${String(req.route.path)}` : 'unmatched';
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  });
  if (opts.beforeBody) app.use(opts.beforeBody);
  const defaultLimit = opts.jsonLimitBytes ?? 1024 * 1024;
  const limitFor = opts.jsonLimitBytesFor;
  app.use(
    jsonBody({
      limitBytes: limitFor ? (req) => limitFor(req) ?? defaultLimit : defaultLimit,
      timeoutMs: opts.bodyTimeoutMs ?? 10_000,
    }),
  );

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', service: opts.service });
  });
  app.get('/readyz', async (_req, res, next) => {
    try {
      if (opts.isShuttingDown?.()) {
        res.status(503).json({ ready: false, checks: { shutdown: { ok: false, detail: 'shutting down' } } });
        return;
      }
      const report = await opts.readiness();
      res.status(report.ready ? 200 : 503).json(report);
    } catch (err) {
      next(err);
    }
  });
  app.get('/metrics', async (_req, res, next) => {
    try {
      res.setHeader('Content-Type', opts.metrics.contentType);
      res.send(await opts.metrics.metrics());
    } catch (err) {
      next(err);
    }
  });
  app.get('/openapi.json', (_req, res) => {
    res.json(opts.openapi());
  });
  app.use(swaggerUiAssets());
  app.get('/docs', swaggerUiHeaders(), (_req, res) => {
    const title = (opts.openapi() as { info?: { title?: string } }).info?.title ?? 'API';
    res.type('html').send(swaggerUiPage(title));
  });
  // The same reference without a script, for readers (and tests) without JavaScript.
  app.get('/docs/static', htmlPageHeaders(), (_req, res) => {
    res.type('html').send(renderDocsPage(opts.openapi()));
  });
  return app;
}

/**
 * helmet's headers for the services' HTML pages (only those: the JSON routes, and serving's
 * /predict above all, stay as they were, with `X-Content-Type-Options` alone). The policy allows
 * nothing but the page's own inline stylesheet, by hash: no script, no frame, no form, no base.
 */
export function htmlPageHeaders(styleHashes: readonly string[] = [DOCS_PAGE_STYLE_HASH]): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        styleSrc: [...styleHashes],
        imgSrc: ["'self'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    // Plain-HTTP local runs: HSTS belongs to the TLS terminator in front, not to the service.
    strictTransportSecurity: false,
  });
}

/**
 * Put first in a mounted router. Express restores `req.baseUrl` when an error leaves the router,
 * so without this a failed request's route label would lose the mount prefix and split the series.
 */
export const recordMountPath: RequestHandler = (req, _res, next) => {
  req.mountPath = req.baseUrl;
  next();
};

/** Adds the 404 for unknown routes and the one error handler. Call after mounting routes. */
export function finishHttpApp(app: Express, logger: Logger): Express {
  app.use((req, _res, next) => {
    next(new AppError(404, 'route_not_found', `no route for ${req.method} ${req.path}`));
  });
  app.use(errorHandler(logger));
  return app;
}

/** Maps any thrown value to `{ error: { code, message, details, requestId } }`. */
export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const requestId = req.requestId ?? requestIdOf(undefined);
    const appErr = toAppError(err);
    if (appErr.status >= 500) {
      logger.error({ err, requestId, method: req.method, path: req.path }, 'request failed');
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // The body was not read to its end (refused before reading, or cut off at the limit or the
    // deadline): close the connection after the answer instead of reading the rest to reuse it.
    if (hasBody(req) && !req.complete) res.setHeader('Connection', 'close');
    if (appErr instanceof RateLimitedError) res.setHeader('Retry-After', String(appErr.retryAfterSeconds));
    res.status(appErr.status).json({
      error: { code: appErr.code, message: appErr.message, details: appErr.details ?? null, requestId },
    });
  };
}

/** True when the request declares a body (chunked or a non-zero Content-Length). */
export function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Translates known non-AppError failures; anything unknown is a 500 with a generic message. */
export function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  if (err instanceof z.ZodError) return zodToValidationError(err);
  const e = err as { type?: string; status?: number; limit?: number; message?: string };
  // body-parser's errors carry a `type`; they are the client's fault and safe to describe.
  if (e && typeof e === 'object' && typeof e.type === 'string') {
    if (e.type === 'entity.parse.failed') return new AppError(400, 'malformed_json', `request body is not valid JSON: ${e.message}`);
    if (e.type === 'entity.too.large') return new AppError(413, 'payload_too_large', `request body exceeds the limit of ${e.limit} bytes`);
    if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') return new AppError(415, 'unsupported_media_type', e.message ?? 'unsupported encoding');
    if (e.type === 'request.aborted') return new AppError(400, 'request_aborted', 'the client aborted the request');
  }
  // The router decodes path parameters itself: a stray `%` or a bad UTF-8 sequence is a URIError with status 400.
  if (err instanceof URIError && e.status === 400) return new AppError(400, 'malformed_path', 'the URL path is not valid percent-encoded UTF-8');
  return new AppError(500, 'internal_error', 'internal error');
}

/** "features.LIMIT_BAL: expected number, received string; model: required" */
export function zodToValidationError(err: z.ZodError, prefix?: string): ValidationError {
  const details = err.issues.map((i) => ({
    path: [...(prefix ? [prefix] : []), ...i.path.map(String)].join('.') || '(body)',
    message: i.message,
    code: i.code,
  }));
  return new ValidationError(details.map((d) => `${d.path}: ${d.message}`).join('; '), details);
}

/** Parses `value` with `schema`, throwing a 400 that names every bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, prefix?: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw zodToValidationError(r.error, prefix);
  return r.data;
}

/** Wraps an async handler so a rejection reaches the error handler (express 5 does this too; kept explicit). */
export const asyncHandler =
  (fn: (req: Request, res: Response, next: NextFunction) => Promise<unknown>): RequestHandler =>
  (req, res, next) => {
    fn(req, res, next).catch(next);
  };
