export { createApp, type ServingApp } from './app.js';
export { buildServingContainer, type ContainerOptions, type ServingContainer } from './container.js';
export { servingConfigSchema, MAX_BODY_BYTES, type ServingConfig } from './config.js';
export { servingOpenApi, servingRoutes } from './openapi.js';
export { migrateServing } from './prediction-log/migrate.js';
