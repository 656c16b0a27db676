/** Wires config to adapters and HTTP; start() returns the bound ports and a stop(). */
import { createDaprClient, createMetrics, daprSecret, listen, Readiness, serveMetrics, sidecarReady, type Logger } from '@context-qa/common';
import { daprInvoker } from './adapters/ai-core-invoker';
import { ApiKeySource } from './adapters/api-key-source';
import { createApp } from './app';
import type { Config } from './config';

export interface Server {
  port: number;
  metricsPort: number;
  stop(): Promise<void>;
}

export async function start(config: Config, logger: Logger): Promise<Server> {
  const dapr = createDaprClient(config);
  const keys = new ApiKeySource(() => daprSecret(dapr, config.SECRET_STORE, 2000)(config.API_KEYS_SECRET), logger);
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
  const api = await listen(app, config.PORT, config.HOST);
  const metricsServer = await serveMetrics(metrics.registry, config.METRICS_PORT, config.HOST);
  return {
    port: api.port,
    metricsPort: metricsServer.port,
    async stop() {
      readiness.drain();
      await new Promise((r) => setTimeout(r, config.SHUTDOWN_DELAY_MS));
      await api.close();
      await metricsServer.close(0);
      keys.stop();
      await dapr.stop();
    },
  };
}
