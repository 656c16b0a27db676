/**
 * The Express app both services start from: request id, security headers, access log and (optionally)
 * HTTP metrics in front of every route.
 */
import express, { type Express, type RequestHandler } from 'express';
import type { Logger } from '../telemetry';
import { accessLog } from './access-log';
import { requestId } from './request-id';
import { securityHeaders } from './security-headers';

/** An Express app with the request id, the access log and (optionally) HTTP metrics in front of every route. */
export function baseApp(logger: Logger, httpMiddleware?: RequestHandler): Express {
  const app = express().disable('x-powered-by').disable('etag');
  app.use(requestId, securityHeaders, accessLog(logger));
  if (httpMiddleware) app.use(httpMiddleware);
  return app;
}
