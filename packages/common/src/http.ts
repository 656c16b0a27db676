import { trace } from '@opentelemetry/api';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { requestContext } from './logger';
import { AppError, httpError, problemFrom, PROBLEM_CONTENT_TYPE } from './problem';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Takes a sane caller-supplied x-request-id or makes one, echoes it, and scopes it for logs. */
/** Span attribute holding the request id (search a trace viewer by it). */
export const REQUEST_ID_ATTRIBUTE = 'context_qa.request_id';

export const requestId: RequestHandler = (req, res, next) => {
  const given = req.header('x-request-id');
  const id = given && REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader('x-request-id', id);
  // With tracing on, the active span here is the server span (middleware layers are not
  // traced): it carries the id, so a trace can be found by it. The instrumentation propagates the trace.
  const span = trace.getActiveSpan();
  span?.setAttribute(REQUEST_ID_ATTRIBUTE, id);
  requestContext.run({ requestId: id, ...(span ? { span } : {}) }, next);
};

/** Request bodies are JSON only: anything else with a body is refused before parsing. */
export function jsonBody(limit: string): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    const hasBody = Number(req.header('content-length') ?? 0) > 0 || req.header('transfer-encoding') !== undefined;
    if (hasBody && !req.is('application/json')) return next(httpError(415, 'request body must be application/json'));
    next();
  };
  return [requireJson, express.json({ limit, strict: true })];
}

type Method = 'get' | 'post' | 'put' | 'delete';

/**
 * Registers routes and remembers their methods so that, once `finish` runs, a
 * known path with another method answers 405 (with Allow) and anything else 404,
 * both through the problem handler.
 */
export function routeTable(app: Express) {
  const allowed = new Map<string, Method[]>();
  return {
    add(method: Method, path: string, ...handlers: RequestHandler[]) {
      allowed.set(path, [...(allowed.get(path) ?? []), method]);
      app[method](path, ...handlers);
    },
    /** `errorHandlers`: paths whose errors are written in another shape (e.g. OpenAI's) than problem+json. */
    finish(logger: Logger, errorHandlers: [paths: string[], handler: ErrorRequestHandler][] = []) {
      for (const [path, methods] of allowed) {
        const allow = methods.map((m) => m.toUpperCase());
        app.all(path, (req, _res, next) => next(httpError(405, `${req.method} is not allowed here`, { allow })));
      }
      for (const [paths, handler] of errorHandlers) app.use(paths, handler);
      app.use((req, _res, next) => next(httpError(404, `no route for ${req.method} ${req.path}`)));
      app.use(problemHandler(logger));
    },
  };
}

/** Maps body-parser failures to their status, AppError to itself, anything else to a bare 500. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const appErr = toAppError(err);
    if (appErr.status >= 500) logger.error({ err, route: req.path }, 'request failed');
    else logger.info({ status: appErr.status, route: req.path, reason: appErr.detail }, 'request rejected');
    const requestId = res.getHeader('x-request-id') as string | undefined;
    const allow = appErr.extra['allow'];
    if (Array.isArray(allow)) res.setHeader('allow', allow.join(', '));
    res
      .status(appErr.status)
      .type(PROBLEM_CONTENT_TYPE)
      .send(JSON.stringify(problemFrom(appErr, requestId)));
  };
}

/** Body-parser failures to their status, AppError to itself, anything else to a bare 500. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const type = (err as { type?: string } | null)?.type;
  if (type === 'entity.parse.failed') return httpError(400, 'request body is not valid JSON');
  if (type === 'entity.too.large') return httpError(413, 'request body is too large');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') return httpError(415, 'unsupported body encoding');
  return new AppError(500, 'Internal Server Error', 'unexpected error', {}, { cause: err });
}

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
export async function listen(handler: http.RequestListener, port: number, host: string, limits?: ServerLimits): Promise<RunningServer> {
  const server = http.createServer(limits ? { headersTimeout: limits.headersTimeoutMs, requestTimeout: limits.requestTimeoutMs } : {}, handler);
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
