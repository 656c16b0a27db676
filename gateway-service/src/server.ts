/** Wires config to adapters and HTTP; start() returns the bound ports and a stop(). */
import { createDaprClient, createMetrics, daprSecret, Readiness, serveApp, sidecarReady, type Logger } from '@context-qa/common';
import { daprInvoker } from './adapters/ai-core-invoker';
import { ApiKeySource } from './adapters/api-key-source';
import { createApp } from './app';
import type { Config } from './config';

export async function start(config: Config, logger: Logger) {
  const dapr = createDaprClient(config);
  const secret = daprSecret(dapr, config.SECRET_STORE, 2000);
  const keys = new ApiKeySource(() => secret(config.API_KEYS_SECRET), logger);
  keys.start(config.API_KEYS_REFRESH_MS);
  const metrics = createMetrics('gateway-service');
  // ai-core being down is answered per request (503), never by readiness:
  // a downstream outage must not empty the load balancer.
  const readiness = new Readiness({ sidecar: () => sidecarReady(config), apiKeys: async () => keys.loaded });
  const app = createApp({
    logger,
    readiness,
    bodyLimit: config.BODY_LIMIT,
    httpMiddleware: metrics.httpMiddleware,
    aiCore: daprInvoker(config),
    apiKeys: () => keys.list(),
  });
  return serveApp(app, {
    config,
    registry: metrics.registry,
    readiness,
    cleanup: async () => {
      keys.stop();
      await dapr.stop();
    },
  });
}
