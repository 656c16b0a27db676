/** Serving a service: its app, a second listener, the metrics port; and draining them at shutdown. */
import type { Express } from 'express';
import type { BaseConfig } from '../config';
import type { Registry } from '../telemetry';
import { listen, serveMetrics, type RunningServer } from './listen';
import { readinessDetail, type Readiness } from './readiness';

/**
 * Serves the app and its metrics; stop() turns readiness off, waits the
 * shutdown delay, drains in-flight requests, then runs `cleanup`.
 */
export async function serveApp(
  app: Express,
  opts: {
    config: BaseConfig;
    registry: Registry;
    readiness: Readiness;
    cleanup: () => Promise<void>;
    /** A second listener (e.g. internal admin routes) with the same limits and drain. */
    extra?: { app: Express; port: number };
  },
) {
  const { config } = opts;
  const limits = {
    headersTimeoutMs: config.SERVER_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.SERVER_BODY_TIMEOUT_MS,
    maxConnections: config.SERVER_MAX_CONNECTIONS,
  };
  const api: RunningServer = await listen(app, config.PORT, config.HOST, limits);
  const extra = opts.extra ? await listen(opts.extra.app, opts.extra.port, config.HOST, limits) : undefined;
  const metrics = await serveMetrics(opts.registry, config.METRICS_PORT, config.HOST, {
    '/readyz': () => readinessDetail(opts.readiness),
  });
  return {
    port: api.port,
    metricsPort: metrics.port,
    ...(extra ? { extraPort: extra.port } : {}),
    async stop() {
      opts.readiness.drain();
      await new Promise((r) => setTimeout(r, config.SHUTDOWN_DELAY_MS));
      await Promise.all([api.close(config.SHUTDOWN_GRACE_MS), extra?.close(config.SHUTDOWN_GRACE_MS)]);
      await metrics.close(0);
      await opts.cleanup();
    },
  };
}
