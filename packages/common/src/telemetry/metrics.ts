/**
 * Prometheus metrics for each service: one registry with process metrics and HTTP latency/in-flight metrics,
 * labelled by route pattern so series stay bounded.
 */
import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Route label of a request no route matched (404s, refusals by app-wide middleware): one series, not one per path. */
export const UNMATCHED_ROUTE = 'unmatched';

/** One registry per service with process metrics, the HTTP latency histogram and the in-flight gauge. */
export function createMetrics(service: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method, matched route pattern and status (499: the caller left before the response)',
    labelNames: ['method', 'route', 'status'] as const,
    // 30 is REQUEST_TIMEOUT_MS's default: a p99 above it means requests ran into the budget.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60],
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'http_requests_in_flight',
    help: 'HTTP requests received and not yet answered',
    registers: [registry],
  });
  /** Labels by the matched route pattern (not the raw path) to keep cardinality bounded. */
  const httpMiddleware: RequestHandler = (req, res, next) => {
    inFlight.inc();
    const end = httpDuration.startTimer({ method: req.method });
    // 'close' fires also when the caller goes away ('finish' then never does): the gauge must not leak.
    res.once('close', () => {
      inFlight.dec();
      // Read after routing. Routes are registered on the app itself (routeTable), so the path is
      // the whole pattern; req.baseUrl is not added: an error handler mounted with app.use leaves it set.
      const pattern = (req.route as { path: string | RegExp } | undefined)?.path;
      const route = pattern === undefined ? UNMATCHED_ROUTE : String(pattern);
      end({ route, status: res.writableFinished ? String(res.statusCode) : '499' });
    });
    next();
  };
  return { registry, httpMiddleware };
}

export type { Registry };
export { Counter, Gauge, Histogram } from 'prom-client';
