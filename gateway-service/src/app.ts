import express, { type Express, type RequestHandler } from 'express';
import { requestId } from '@context-qa/common';
import { mountRoutes, type RouteDeps } from './entry-points/routes';

/** The pure app factory: everything it touches comes in through `deps`. */
export function createApp(deps: RouteDeps & { httpMiddleware?: RequestHandler }): Express {
  const app = express().disable('x-powered-by').disable('etag');
  app.use(requestId);
  if (deps.httpMiddleware) app.use(deps.httpMiddleware);
  mountRoutes(app, deps);
  return app;
}
