import { createHttpApp, finishHttpApp, recordMountPath } from '@contender/platform';
import express, { type Express } from 'express';
import type { SchedulerContainer } from './container.js';
import { dagRoutes } from './features/dags/dag-routes.js';
import { reportRoutes } from './features/reports/report-routes.js';
import { runRoutes } from './features/runs/run-routes.js';
import { scheduleRoutes } from './features/schedules/schedule-routes.js';
import { schedulerOpenApi } from './openapi.js';

/** The scheduler's HTTP app. Never listens: main.ts does, and tests drive it through supertest. */
export function createApp(c: SchedulerContainer): Express {
  const app = createHttpApp({
    service: 'scheduler',
    logger: c.logger,
    metrics: c.metricsRegistry,
    readiness: () => c.readiness(),
    openapi: schedulerOpenApi,
    isShuttingDown: () => c.isShuttingDown(),
  });
  const api = express.Router();
  api.use(recordMountPath);
  api.use(dagRoutes({ catalog: c.catalog, schedules: c.schedules, runs: c.runs, auth: c.auth }));
  api.use(runRoutes({ runs: c.runs, auth: c.auth, created: () => c.runner.wake() }));
  api.use(scheduleRoutes({ schedules: c.schedules, auth: c.auth }));
  api.use(reportRoutes({ runs: c.runs, auth: c.auth }));
  app.use('/api/v1', api);
  return finishHttpApp(app, c.logger);
}
