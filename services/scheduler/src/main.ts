import { createServer } from 'node:http';
import { closeServer, createLogger, createShutdown, handleSignals, loadConfig } from '@contender/platform';
import { createApp } from './app.js';
import { schedulerConfigSchema } from './config.js';
import { buildSchedulerContainer } from './container.js';
import { loadDags } from './load-dags.js';

const config = loadConfig(schedulerConfigSchema);
const logger = createLogger('scheduler', config.LOG_LEVEL);
const dags = await loadDags(config.SCHEDULER_DAGS_MODULE);
const container = await buildSchedulerContainer(config, { logger, dags });
const server = createServer(createApp(container));
server.keepAliveTimeout = 65_000; // longer than common load balancers' idle timeout
await container.start();
server.listen(config.PORT, config.HOST, () => {
  logger.info({ port: config.PORT, host: config.HOST, owner: container.owner, dags: dags.map((d) => d.id) }, 'scheduler listening');
});
// Running steps get the shutdown time less a margin for handing the rest back and closing.
const graceMs = Math.max(0, config.SHUTDOWN_TIMEOUT_MS - 2_000);
const shutdown = createShutdown(logger, () => [
  { name: 'readiness', run: () => container.beginShutdown() },
  { name: 'runner', run: () => container.stop(graceMs) },
  { name: 'http', run: () => closeServer(server) },
  { name: 'container', run: () => container.close() },
]);
handleSignals(logger, shutdown, config.SHUTDOWN_TIMEOUT_MS);
