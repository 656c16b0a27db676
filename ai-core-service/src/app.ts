/**
 * ai-core's Express app from its dependencies: the shared base (request id, access log, metrics) and routes.
 * Kept apart from server.ts so tests can build it on fakes, without config, Dapr or a listener.
 */
import type { Express, RequestHandler } from 'express';
import { baseApp } from '@context-qa/common/http';
import { mountRoutes, type RouteDeps } from './entry-points/routes';

/** The pure app factory: everything it touches comes in through `deps`. */
export function createApp(deps: RouteDeps & { httpMiddleware?: RequestHandler }): Express {
  const app = baseApp(deps.logger, deps.httpMiddleware);
  mountRoutes(app, deps);
  return app;
}
