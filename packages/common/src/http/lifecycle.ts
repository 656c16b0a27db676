/** A service's process: parse its config, start it, and stop it once on a signal. */
import type { z } from 'zod';
import { loadConfig } from '../config';
import { createLogger, type Logger } from '../telemetry';

/**
 * The composition root's shared half: parse config (a bad value stops the
 * process naming the variable), start, and on SIGTERM/SIGINT stop once and exit.
 */
export function runService<C extends { LOG_LEVEL: string }>(
  service: string,
  schema: z.ZodObject,
  start: (config: C, logger: Logger) => Promise<{ port: number; metricsPort: number; stop(): Promise<void> }>,
  /** Flushed after the server has stopped, so the spans of the last requests are not lost. */
  tracing?: { shutdown(): Promise<void> },
): void {
  let config: C;
  try {
    config = loadConfig(schema) as unknown as C;
  } catch (err) {
    console.error(`${service}: ${(err as Error).message}`);
    process.exit(1);
  }
  const logger = createLogger(service, config.LOG_LEVEL);
  start(config, logger).then(
    (server) => {
      logger.info({ port: server.port, metricsPort: server.metricsPort }, `${service} listening`);
      runUntilSignalled(logger, async () => {
        try {
          await server.stop();
        } finally {
          await tracing?.shutdown();
        }
      });
    },
    (err) => {
      logger.fatal({ err }, `${service} failed to start`);
      process.exit(1);
    },
  );
}

/** On SIGTERM/SIGINT run `shutdown` once (readiness off, drain, close) and exit. */
export function runUntilSignalled(logger: Logger, shutdown: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    shutdown()
      .then(() => process.exit(0))
      .catch((err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
}
