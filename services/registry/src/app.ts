import { createHttpApp, finishHttpApp, recordMountPath } from '@contender/platform';
import express, { type Express } from 'express';
import type { RegistryContainer } from './container.js';
import { apiKeyRoutes } from './features/api-keys/api-key-routes.js';
import { datasetRoutes } from './features/datasets/dataset-routes.js';
import { deploymentRoutes } from './features/deployments/deployment-routes.js';
import { modelRoutes } from './features/models/model-routes.js';
import { registryOpenApi } from './openapi.js';

/** The registry's HTTP app. Never listens: main.ts does, and tests drive it through supertest. */
export function createApp(c: RegistryContainer): Express {
  const app = createHttpApp({
    service: 'registry',
    logger: c.logger,
    metrics: c.metricsRegistry,
    readiness: () => c.readiness(),
    openapi: registryOpenApi,
    isShuttingDown: () => c.isShuttingDown(),
  });
  const api = express.Router();
  api.use(recordMountPath);
  api.use(modelRoutes({ models: c.models, uploader: c.uploader, keys: c.keys, storage: c.storage, idempotency: c.idempotency }));
  api.use(datasetRoutes({ datasets: c.datasets, uploader: c.datasetUploader, keys: c.keys, storage: c.storage, idempotency: c.idempotency }));
  api.use(apiKeyRoutes(c.keys));
  api.use(deploymentRoutes({ deployments: c.deployments, keys: c.keys }));
  app.use('/api/v1', api);
  return finishHttpApp(app, c.logger);
}
