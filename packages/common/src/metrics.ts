import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { listen, type RunningServer } from './http';

/** One registry per service with process metrics and the HTTP latency histogram. */
export function createMetrics(service: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  /** Labels by the matched route pattern (not the raw path) to keep cardinality bounded. */
  const httpMiddleware: RequestHandler = (req, res, next) => {
    const end = httpDuration.startTimer({ method: req.method });
    res.once('finish', () => end({ route: (req.route as { path: string } | undefined)?.path ?? 'unmatched', status: String(res.statusCode) }));
    next();
  };
  return { registry, httpMiddleware };
}

/** Serves GET /metrics on its own port, which the public ingress never exposes. */
export function serveMetrics(registry: Registry, port: number, host: string): Promise<RunningServer> {
  return listen(
    (req, res) => {
      if (req.url !== '/metrics') return void res.writeHead(404).end();
      registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
        () => res.writeHead(500).end(),
      );
    },
    port,
    host,
  );
}

export type { Registry };
export { Counter, Gauge, Histogram } from 'prom-client';
