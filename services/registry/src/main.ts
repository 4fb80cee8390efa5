import { createServer } from 'node:http';
import { closeServer, createLogger, createShutdown, handleSignals, httpServerOptions, loadConfig } from '@contender/platform';
import { createApp } from './app.js';
import { registryConfigSchema } from './config.js';
import { buildRegistryContainer } from './container.js';

const config = loadConfig(registryConfigSchema);
const logger = createLogger('registry', config.LOG_LEVEL);
const container = await buildRegistryContainer(config, { logger });
const server = createServer(httpServerOptions(config), createApp(container));
container.sweeper.start(config.ARTIFACT_SWEEP_INTERVAL_MS);
server.listen(config.PORT, config.HOST, () => {
  logger.info({ port: config.PORT, host: config.HOST, artifactStore: container.storage.kind }, 'registry listening');
});
const shutdown = createShutdown(logger, () => [
  { name: 'readiness', run: () => container.beginShutdown() },
  { name: 'http', run: () => closeServer(server) },
  { name: 'container', run: () => container.close() },
]);
handleSignals(logger, shutdown, config.SHUTDOWN_TIMEOUT_MS);
