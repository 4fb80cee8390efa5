export { createApp } from './app.js';
export { buildRegistryContainer, migrateRegistry, type RegistryContainer } from './container.js';
export { registryConfigSchema, type RegistryConfig } from './config.js';
export { registryOpenApi, registryRoutes } from './openapi.js';
