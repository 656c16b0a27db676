/**
 * HTTP listeners with request limits and graceful close (in-flight requests may finish), and the separate
 * internal port for /metrics and readiness that the public ingress never exposes.
 */
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import type { Registry } from '../telemetry';

export interface RunningServer {
  port: number;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then closes the rest. */
  close(graceMs?: number): Promise<void>;
}

export interface ServerLimits {
  headersTimeoutMs: number;
  /** Receiving the whole request (not producing the response). */
  requestTimeoutMs: number;
  maxConnections: number;
}

/** Listens on host:port (0 picks a free port) and resolves with the bound port. */
export async function listen(
  handler: http.RequestListener,
  port: number,
  host: string,
  limits?: ServerLimits,
): Promise<RunningServer> {
  const server = http.createServer(
    limits ? { headersTimeout: limits.headersTimeoutMs, requestTimeout: limits.requestTimeoutMs } : {},
    handler,
  );
  if (limits) server.maxConnections = limits.maxConnections;
  // Behind a sidecar/ALB with keep-alive: outlive their idle timeouts.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: (graceMs = 10_000) =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), graceMs).unref();
        // Keep-alive sockets (the sidecar's) go idle as their last response ends:
        // close them as they do, so shutdown takes as long as the slowest request.
        const idle = setInterval(() => server.closeIdleConnections(), 50).unref();
        server.close(() => {
          clearTimeout(force);
          clearInterval(idle);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

/** A JSON route of the internal port: status and body. */
export type InternalRoute = () => Promise<{ status: number; body: unknown }>;

/**
 * Serves GET /metrics on its own port, which the public ingress never exposes,
 * and the `internal` routes (e.g. readiness with its checks: too detailed for the public port).
 */
export function serveMetrics(
  registry: Registry,
  port: number,
  host: string,
  internal: Record<string, InternalRoute> = {},
): Promise<RunningServer> {
  return listen(
    (req, res) => {
      const route = Object.hasOwn(internal, req.url ?? '') ? internal[req.url!] : undefined;
      if (route)
        return void route().then(
          ({ status, body }) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
          () => res.writeHead(500).end(),
        );
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
