import { existsSync } from 'node:fs';
import path from 'node:path';
import { AppError, recordMountPath, type Logger } from '@contender/platform';
import express, { Router, type RequestHandler } from 'express';
import type { ApiKeyService } from '../api-keys/api-key-service.js';
import { requireRole } from '../api-keys/auth.js';

export interface ConsoleDeps {
  /** the console's built files (packages/console/dist) */
  dir: string;
  /** the scheduler's base URL, as this registry reaches it */
  schedulerUrl: string;
  schedulerTimeoutMs: number;
  keys: ApiKeyService;
  logger: Logger;
}

/**
 * The console's own headers. Scripts, styles and API calls: this origin only (the scheduler is
 * reached through the pass-through below, so connect-src needs no second origin). No inline script
 * or style element, no framing, no referrer: the pages hold an API key in sessionStorage.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', CONSOLE_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  res.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=()');
  next();
};

/** Request headers passed on to the scheduler: the caller's key (the scheduler checks it itself). */
const FORWARDED = ['authorization', 'accept', 'content-type'] as const;

/**
 * The web console at `/` (static files; hashed assets cached for a year, index.html never), and
 * `/console/scheduler/api/v1/*`: a pass-through to the scheduler's API, so that the pages call one
 * origin with one key and no CORS is needed.
 */
export function consoleRoutes(deps: ConsoleDeps): Router {
  const r = Router();
  const index = path.join(deps.dir, 'index.html');
  const built = () => existsSync(index);

  r.get(['/', '/index.html'], securityHeaders, (_req, res, next) => {
    if (!built()) {
      next(new AppError(404, 'console_not_built', `the console is not built (no ${index}): run npm run build`));
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index, { cacheControl: false });
  });
  r.use('/assets', securityHeaders, express.static(path.join(deps.dir, 'assets'), { index: false, immutable: true, maxAge: '365d', redirect: false }));
  r.get('/favicon.svg', securityHeaders, express.static(deps.dir, { index: false, maxAge: '1d', redirect: false }));

  const base = deps.schedulerUrl.replace(/\/+$/, '');
  r.get('/console/scheduler-status', requireRole(deps.keys, 'reader'), async (_req, res) => {
    let reachable = false;
    try {
      const answer = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(Math.min(2_000, deps.schedulerTimeoutMs)) });
      reachable = answer.ok;
      await answer.body?.cancel();
    } catch {
      reachable = false;
    }
    res.setHeader('Cache-Control', 'no-store');
    res.json({ reachable, url: base });
  });

  const pass = Router();
  pass.use(recordMountPath);
  pass.all('/api/v1/*path', async (req, res, next) => {
    if (!['GET', 'POST', 'PUT', 'DELETE'].includes(req.method)) {
      next(new AppError(405, 'method_not_allowed', `${req.method} is not passed on to the scheduler`));
      return;
    }
    const headers: Record<string, string> = { 'x-request-id': req.requestId };
    for (const h of FORWARDED) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    const hasBody = req.method === 'POST' || req.method === 'PUT';
    if (hasBody) headers['content-type'] = 'application/json';
    const target = new URL(`${base}${req.originalUrl.slice(req.baseUrl.length)}`);
    // The URL parser resolves "..": what is passed on must still be under the scheduler's API.
    if (!target.pathname.startsWith(`${new URL(base).pathname.replace(/\/+$/, '')}/api/v1/`)) {
      next(new AppError(404, 'route_not_found', `no route for ${req.method} ${req.path}`));
      return;
    }
    let answer: Response;
    try {
      answer = await fetch(target, {
        method: req.method,
        headers,
        body: hasBody ? JSON.stringify(req.body ?? {}) : undefined,
        redirect: 'manual',
        signal: AbortSignal.timeout(deps.schedulerTimeoutMs),
      });
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError';
      deps.logger.warn({ err, target: `${base}${req.path}` }, 'console: the scheduler did not answer');
      next(
        timedOut
          ? new AppError(504, 'scheduler_timeout', `the scheduler did not answer within ${deps.schedulerTimeoutMs} ms`)
          : new AppError(502, 'scheduler_unreachable', `the scheduler at ${base} is not reachable`),
      );
      return;
    }
    res.status(answer.status);
    const type = answer.headers.get('content-type');
    if (type) res.setHeader('Content-Type', type);
    res.setHeader('Cache-Control', 'no-store');
    res.send(Buffer.from(await answer.arrayBuffer()));
  });
  r.use('/console/scheduler', pass);
  return r;
}
