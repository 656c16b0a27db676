/**
 * The gateway's routes by audience, mounted on one listener: the public API
 * (public-routes.ts, with the OpenAI surface in chat.ts), the admin API
 * (admin-routes.ts) and, on every listener, health and docs (ops-routes.ts).
 * Errors are problem+json, in OpenAI's shape on the OpenAI routes.
 */
import type { Express, RequestHandler } from 'express';
import { OPENAI_PATHS } from '@context-qa/common/contract';
import { jsonBody, openAiErrorHandler, type Readiness, routeTable } from '@context-qa/common/http';
import type { Logger } from '@context-qa/common/telemetry';
import type { ApiKeyList } from '../domain/ports';
import { mountAdminRoutes } from './admin-routes';
import { authenticate } from './authenticate';
import type { LimitDeps } from './limits';
import { mountOpsRoutes } from './ops-routes';
import { mountPublicRoutes } from './public-routes';
import type { AiCoreLink } from './relay';
import type { RouteKit, Routes } from './route-kit';

export interface RouteDeps extends AiCoreLink {
  logger: Logger;
  /** undefined until the key list is first loaded. */
  apiKeys: ApiKeyList;
  readiness: Readiness;
  bodyLimit: string;
  /**
   * Which routes this listener serves: `public` (ask), `admin` (context
   * writes, for an internal listener) or `all` (one listener, the default).
   */
  surface?: 'all' | 'public' | 'admin';
  /** Per-key rate limits and token budgets (entry-points/limits.ts). */
  limits: LimitDeps;
  /** Load shedding in front of the answer routes (entry-points/admission.ts); default: admit all. */
  admit?: RequestHandler;
  /** Per-key concurrency on this replica, after authentication and before the body (entry-points/key-concurrency.ts). */
  perKey?: RequestHandler;
}

const pass: RequestHandler = (_req, _res, next) => next();

export function mountRoutes(app: Express, deps: RouteDeps): void {
  const { logger, aiCore, requestTimeoutMs, apiKeys, readiness, limits } = deps;
  const kit: RouteKit = {
    logger,
    aiCore,
    requestTimeoutMs,
    apiKeys,
    readiness,
    limits,
    auth: (scope) => authenticate(apiKeys, scope, logger),
    admit: deps.admit ?? pass,
    perKey: deps.perKey ?? pass,
    body: jsonBody(deps.bodyLimit),
  };
  const surface = deps.surface ?? 'all';
  const routes = routeTable(app);
  if (surface !== 'admin') mountPublicRoutes(routes, kit);
  if (surface !== 'public') mountAdminRoutes(routes, kit);
  mountOpsRoutes(routes, readiness, { docs: surface !== 'admin' });
  renderErrors(routes, logger);
}

/** Ends the table: every error, the gateway's outcomes (domain/outcomes.ts) among them, as problem+json; in OpenAI's shape on the OpenAI routes. */
export const renderErrors = (routes: Routes, logger: Logger): void =>
  routes.finish(logger, [[OPENAI_PATHS, openAiErrorHandler(logger)]]);
