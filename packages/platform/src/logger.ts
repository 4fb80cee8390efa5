import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** JSON logs to stdout. The error object goes under `err` so pino serialises its stack. */
export function createLogger(service: string, level: LevelWithSilent = 'info'): Logger {
  return pino({
    name: service,
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['req.headers.authorization', '*.apiKey', '*.key'], censor: '[redacted]' },
  });
}
