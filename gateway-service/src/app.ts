/**
 * The gateway's Express app from its dependencies: the shared base, the playground page and the routes of one
 * surface (public, admin or all). Kept pure so server.ts can build one per listener and tests one on fakes.
 */
import type { Express, RequestHandler } from 'express';
import { baseApp } from '@context-qa/common/http';
import { mountPlayground } from './entry-points/playground';
import { mountRoutes, type RouteDeps } from './entry-points/routes';

/** The pure app factory: everything it touches comes in through `deps`. */
export function createApp(deps: RouteDeps & { httpMiddleware?: RequestHandler }): Express {
  const app = baseApp(deps.logger, deps.httpMiddleware);
  mountPlayground(app); // a static page, no key; on every listener (see docs/api.md "Playground")
  mountRoutes(app, deps);
  return app;
}
