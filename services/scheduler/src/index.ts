export { createApp } from './app.js';
export { buildSchedulerContainer, migrateScheduler, type SchedulerContainer } from './container.js';
export { schedulerConfigSchema, type SchedulerConfig } from './config.js';
export { schedulerOpenApi, schedulerRoutes } from './openapi.js';
