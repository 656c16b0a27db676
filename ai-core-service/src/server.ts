import express from 'express';
import { listen, Readiness, requestId, routeTable, type Logger } from '@context-qa/common';
import type { Config } from './config';

export interface Server {
  port: number;
  metricsPort: number;
  stop(): Promise<void>;
}

export async function start(config: Config, logger: Logger): Promise<Server> {
  const sidecar = `http://${config.DAPR_HOST}:${config.DAPR_HTTP_PORT}`;
  const readiness = new Readiness({
    sidecar: async () => (await fetch(`${sidecar}/v1.0/healthz/outbound`, { signal: AbortSignal.timeout(500) })).ok,
  });
  const app = express().disable('x-powered-by');
  app.use(requestId);
  const routes = routeTable(app);
  routes.add('get', '/healthz', (_req, res) => void res.json({ status: 'ok' }));
  routes.add('get', '/readyz', async (_req, res) => {
    const status = await readiness.status();
    res.status(status.ready ? 200 : 503).json(status);
  });
  routes.finish(logger);
  const api = await listen(app, config.PORT, config.HOST);
  return {
    port: api.port,
    metricsPort: 0,
    stop: async () => {
      readiness.drain();
      await api.close();
    },
  };
}
