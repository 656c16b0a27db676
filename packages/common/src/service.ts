import express, { type Express, type RequestHandler } from 'express';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { accessLog } from './access-log';
import { env, loadConfig } from './config';
import { listen, requestId, type RunningServer } from './http';
import { createLogger, type Logger } from './logger';
import { httpError, problemFrom, PROBLEM_CONTENT_TYPE } from './problem';
import { serveMetrics } from './metrics';

/** Settings every service has: listeners, logging, body size, shutdown, own sidecar. */
export function baseConfig(ports: { port: number; metricsPort: number }) {
  return {
    HOST: z.string().default('0.0.0.0').describe('interface the API listens on'),
    PORT: env.port(ports.port).describe('API port'),
    METRICS_PORT: env.port(ports.metricsPort).describe('Prometheus /metrics port; never exposed by the ingress'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).default(0).describe('wait after readiness turns false before closing the listener (set ~5000 on Kubernetes)'),
    REQUEST_TIMEOUT_MS: env.ms(30_000).describe("the most one request may take, end to end; a caller's smaller remaining budget (x-request-timeout-ms) wins"),
    SHUTDOWN_GRACE_MS: env.ms(30_000).describe('how long in-flight requests may finish at shutdown; at least REQUEST_TIMEOUT_MS'),
    SERVER_HEADERS_TIMEOUT_MS: env.ms(10_000).describe('a client must send its request headers within this'),
    SERVER_BODY_TIMEOUT_MS: env.ms(15_000).describe('a client must send its whole request (headers and body) within this'),
    SERVER_MAX_CONNECTIONS: z.coerce.number().int().positive().default(1024).describe('open connections beyond this are refused'),
    DAPR_HOST: z.string().default('127.0.0.1').describe('own sidecar host'),
    DAPR_HTTP_PORT: env.port(3500).describe("own sidecar's HTTP API port"),
    DAPR_API_TOKEN: z.string().min(1).optional().describe('token our sidecar requires (dapr-api-token), when it has one'),
  };
}

export type BaseConfig = z.infer<z.ZodObject<ReturnType<typeof baseConfig>>>;

type Issue = { path: string[]; message: string };

/**
 * Limits that would contradict each other are refused at start, naming the
 * variables: a shutdown must be able to finish one request, and Node needs the
 * headers before the whole request.
 */
export function baseConfigIssues(c: BaseConfig): Issue[] {
  const issues: Issue[] = [];
  if (c.SHUTDOWN_GRACE_MS < c.REQUEST_TIMEOUT_MS) {
    issues.push({
      path: ['SHUTDOWN_GRACE_MS'],
      message: `${c.SHUTDOWN_GRACE_MS} ms is shorter than REQUEST_TIMEOUT_MS (${c.REQUEST_TIMEOUT_MS} ms): a shutdown would cut requests off`,
    });
  }
  if (c.SERVER_HEADERS_TIMEOUT_MS > c.SERVER_BODY_TIMEOUT_MS) {
    issues.push({ path: ['SERVER_HEADERS_TIMEOUT_MS'], message: `must not exceed SERVER_BODY_TIMEOUT_MS (${c.SERVER_BODY_TIMEOUT_MS} ms)` });
  }
  return issues;
}

/** Adds cross-variable checks to a config schema (each issue names its variables). */
export function withChecks<S extends z.ZodObject>(schema: S, checks: (c: z.infer<S>) => Issue[]): S {
  return schema.superRefine((c, ctx) => {
    for (const i of checks(c)) ctx.addIssue({ code: 'custom', path: i.path, message: i.message });
  });
}

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

/** Readiness flag flipped off at shutdown so load balancers stop sending before we drain. */
export class Readiness {
  private draining = false;
  constructor(private readonly checks: Record<string, () => Promise<boolean>>) {}

  drain(): void {
    this.draining = true;
  }

  async status(): Promise<{ ready: boolean; checks: Record<string, boolean> }> {
    if (this.draining) return { ready: false, checks: { draining: false } };
    const names = Object.keys(this.checks);
    const results = await Promise.all(names.map((n) => this.checks[n]!().catch(() => false)));
    const checks = Object.fromEntries(names.map((n, i) => [n, results[i]!]));
    return { ready: results.every(Boolean), checks };
  }
}

/**
 * On every response, whatever route or error wrote it: never content-sniffed (an error
 * body echoing a path must never render as HTML), HTTPS only from the first visit on
 * (browsers ignore HSTS over plain HTTP, so local dev is unaffected), never framed
 * (clickjacking the playground), and no shared browsing context with an opener.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

const securityHeaders: RequestHandler = (_req, res, next) => {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
  next();
};

/** An Express app with the request id, the access log and (optionally) HTTP metrics in front of every route. */
export function baseApp(logger: Logger, httpMiddleware?: RequestHandler): Express {
  const app = express().disable('x-powered-by').disable('etag');
  app.use(requestId, securityHeaders, accessLog(logger));
  if (httpMiddleware) app.use(httpMiddleware);
  return app;
}

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
  const metrics = await serveMetrics(opts.registry, config.METRICS_PORT, config.HOST, { '/readyz': () => readinessDetail(opts.readiness) });
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

/** Which checks pass, for operators on the internal (metrics) port: names what is missing. */
async function readinessDetail(readiness: Readiness) {
  const status = await readiness.status();
  return { status: status.ready ? 200 : 503, body: status };
}

/**
 * GET /healthz (the process is alive) and GET /readyz (it should get traffic).
 * The public port says ready or not only: which dependency is down (sidecar, key
 * list) is for operators, on the metrics port (readinessDetail).
 */
export function addHealthRoutes(routes: { add(method: 'get', path: string, ...h: RequestHandler[]): void }, readiness: Readiness): void {
  routes.add('get', '/healthz', (_req, res) => void res.json({ status: 'ok' }));
  routes.add('get', '/readyz', async (_req, res) => {
    if ((await readiness.status()).ready) return void res.json({ status: 'ready' });
    // Written here, not thrown: the problem handler logs every 5xx at error, and a draining pod is no error.
    const problem = problemFrom(httpError(503, 'not ready to take traffic', { code: 'not_ready' }), res.getHeader('x-request-id') as string | undefined);
    res.status(503).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
  });
}
