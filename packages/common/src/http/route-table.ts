/**
 * Route registration and error tail for both services: JSON-only bodies, 405 with Allow vs 404, and errors
 * written as problem+json (causes logged, never sent).
 */
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import { REQUEST_ID_HEADER } from '../contract';
import type { Logger } from '../telemetry';
import { AppError, httpError, problemFrom, PROBLEM_CONTENT_TYPE } from './problem';

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
    const requestId = res.getHeader(REQUEST_ID_HEADER) as string | undefined;
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
  if (type === 'encoding.unsupported' || type === 'charset.unsupported')
    return httpError(415, 'unsupported body encoding');
  return new AppError(500, 'Internal Server Error', 'unexpected error', {}, { cause: err });
}
