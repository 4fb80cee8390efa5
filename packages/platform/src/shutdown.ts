import type { Server } from 'node:http';
import type { Logger } from './logger.js';

export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown> | unknown;
}

/**
 * Runs every step in order, each in its own try/catch so one failing step (Redis already gone)
 * never skips the rest (flushing the prediction log, closing Postgres). Idempotent: a second call
 * returns the first call's promise.
 */
export function createShutdown(logger: Logger, steps: () => ShutdownStep[]): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => {
    running ??= (async () => {
      for (const step of steps()) {
        try {
          await step.run();
        } catch (err) {
          logger.error({ err, step: step.name }, 'shutdown step failed');
        }
      }
    })();
    return running;
  };
}

/** Stops accepting connections and resolves once in-flight requests have finished. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    // Keep-alive sockets with no request in flight would hold close() open until they time out.
    server.closeIdleConnections();
  });
}

/**
 * Wires SIGTERM/SIGINT to `shutdown`, with a hard-exit timer so a stuck step cannot keep the
 * process alive past the orchestrator's grace period. `lastWords`, if given, runs synchronously
 * just before that hard exit: whatever state the unfinished shutdown still held can be saved there.
 */
export function handleSignals(logger: Logger, shutdown: () => Promise<void>, timeoutMs: number, lastWords?: () => void): void {
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown timed out; exiting');
      if (lastWords) runLastWords(logger, lastWords);
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

/**
 * An uncaught exception — or an unhandled rejection, which Node raises as one — leaves the process
 * in a state nothing can vouch for, so it exits (with 1), as Node would; but first it logs the
 * error and runs `lastWords` synchronously, to save what must not die with it. An orderly shutdown
 * is not attempted: it would run on top of the broken state, and could hang.
 */
export function handleFatalErrors(logger: Logger, lastWords: () => void): void {
  process.on('uncaughtException', (err, origin) => {
    try {
      logger.fatal({ err, origin }, 'uncaught exception; exiting');
    } catch {
      // Nothing better to do: the exit below still happens.
    }
    runLastWords(logger, lastWords);
    process.exit(1);
  });
}

function runLastWords(logger: Logger, lastWords: () => void): void {
  try {
    lastWords();
  } catch (err) {
    try {
      logger.fatal({ err }, 'saving state before exiting failed');
    } catch {
      // As above.
    }
  }
}
