import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Express } from 'express';
import type { Histogram } from 'prom-client';
import { createHttpApp, finishHttpApp } from '@contender/platform';
import { MAX_BODY_BYTES, batchBodyLimitBytes } from './config.js';
import type { ServingContainer } from './container.js';
import { feedbackRoutes } from './feedback/feedback-routes.js';
import { featureRoutes } from './features/feature-routes.js';
import { servingOpenApi } from './openapi.js';
import { batchRoutes } from './predict/batch-routes.js';
import { createPredictHandler } from './predict/predict-handler.js';

/** A node:http request listener (give it to `http.createServer` or supertest); `.express` is the rest of the API. */
export type ServingApp = ((req: IncomingMessage, res: ServerResponse) => void) & { readonly express: Express };

/**
 * The serving HTTP surface. `POST /predict` is handled by a lean node:http handler (see
 * predict-handler.ts); every other request goes to the express app with the shared middleware.
 * Never listens: only main.ts (and test helpers) do.
 */
export function createApp(c: ServingContainer): ServingApp {
  const batchLimit = batchBodyLimitBytes(c.config);
  const app = createHttpApp({
    service: 'serving',
    logger: c.logger,
    metrics: c.metrics,
    jsonLimitBytes: MAX_BODY_BYTES,
    jsonLimitBytesFor: (req) => (req.path === '/predict/batch' ? batchLimit : undefined),
    bodyTimeoutMs: c.config.HTTP_BODY_TIMEOUT_MS,
    readiness: () => c.readiness(),
    openapi: servingOpenApi,
    isShuttingDown: () => c.isShuttingDown(),
  });
  app.use(batchRoutes({ service: c.predictor, auth: c.auth }));
  app.use(
    featureRoutes({
      cache: c.featureCache,
      auth: c.auth,
      ttlSeconds: c.config.FEATURE_TTL_SECONDS,
      limits: { maxBytes: c.config.FEATURE_MAX_BYTES, maxCount: c.config.FEATURE_MAX_COUNT },
    }),
  );
  app.use(feedbackRoutes({ pool: c.pool, log: c.predictionLog, requireRole: (role) => c.auth.middleware(role) }));
  finishHttpApp(app, c.logger);

  const predict = createPredictHandler({
    service: c.predictor,
    auth: c.auth,
    rateLimiter: c.rateLimiter,
    logger: c.logger,
    maxBodyBytes: MAX_BODY_BYTES,
    httpDuration: c.metrics.getSingleMetric('serving_http_request_duration_seconds') as Histogram<'method' | 'route' | 'status'> | undefined,
  });
  const metricsText = c.metricsText;

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url;
    if (req.method === 'POST' && url !== undefined && (url === '/predict' || url.startsWith('/predict?'))) {
      predict(req, res);
      return;
    }
    if (metricsText && req.method === 'GET' && url === '/metrics') {
      metricsText().then(
        (text) => {
          res.writeHead(200, { 'Content-Type': c.metrics.contentType });
          res.end(text);
        },
        (err: unknown) => {
          c.logger.error({ err }, 'aggregating cluster metrics failed');
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end('aggregating cluster metrics failed\n');
        },
      );
      return;
    }
    void app(req, res);
  };
  return Object.assign(listener, { express: app });
}
