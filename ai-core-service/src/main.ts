import { createLogger, loadConfig, runUntilSignalled } from '@context-qa/common';
import { configSchema } from './config';
import { start } from './server';

async function main(): Promise<void> {
  const config = loadConfig(configSchema);
  const logger = createLogger('ai-core-service', config.LOG_LEVEL);
  const server = await start(config, logger);
  logger.info({ port: server.port, metricsPort: server.metricsPort }, 'ai-core-service listening');
  runUntilSignalled(logger, server.stop);
}

main().catch((err) => {
  // Config errors name the variable; print them plainly and stop.
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
