import type { Express, RequestHandler } from 'express';
import { baseApp } from '@context-qa/common/http';
import { mountPlayground } from './entry-points/playground';
import { mountRoutes, type RouteDeps } from './entry-points/routes';

/** The pure app factory: everything it touches comes in through `deps`. */
export function createApp(deps: RouteDeps & { httpMiddleware?: RequestHandler }): Express {
  const app = baseApp(deps.logger, deps.httpMiddleware);
  mountPlayground(app); // a static page, no key; on every listener (see README "Playground")
  mountRoutes(app, deps);
  return app;
}
