/** ai-core's HTTP routes: the answer routes (prompt.ts, chat.ts), context admin and health, behind the app token and tenant checks. */
import type { Express, RequestHandler } from 'express';
import { z } from 'zod';
import { AI_CORE_ROUTES, contextKeySchema, contextPutSchema, OPENAI_PATHS } from '@context-qa/common/contract';
import { safeEqual } from '@context-qa/common/crypto';
import {
  addHealthRoutes,
  httpError,
  jsonBody,
  openAiErrorHandler,
  parseOr400,
  type Readiness,
  routeTable,
} from '@context-qa/common/http';
import type { Logger } from '@context-qa/common/telemetry';
import type { Answering } from '../domain/answer/pipeline';
import type { ContextAdmin } from '../domain/context-admin';
import type { ModelCard, Routing } from '../domain/routing';
import { mountChatRoutes } from './chat';
import { mountPromptRoute } from './prompt';
import { requireTenant, tenantOf } from './tenant';

export interface RouteDeps {
  logger: Logger;
  /** The one use case behind /process and the chat route. */
  pipeline: Answering;
  /** Which models answer a prompt, and what a chat's `model` means. */
  routing: Routing;
  /** `GET /v1/models`. */
  models: readonly ModelCard[];
  /** Upper bound of one request; the gateway's remaining budget (header) may be smaller. */
  requestTimeoutMs: number;
  contexts: ContextAdmin;
  readiness: Readiness;
  bodyLimit: string;
  /** When set, every request but health checks must carry it as dapr-api-token. */
  appToken?: string | undefined;
}

const keyQuery = z.object({ key: contextKeySchema });

const PUBLIC_PATHS = new Set(['/healthz', '/readyz']);

export function mountRoutes(app: Express, deps: RouteDeps): void {
  const routes = routeTable(app);
  const body = jsonBody(deps.bodyLimit);
  if (deps.appToken) app.use(requireAppToken(deps.appToken));
  // Every route that reads or writes context or cached answers is one tenant's: no tenant, no request.
  app.use(
    [AI_CORE_ROUTES.process.path, AI_CORE_ROUTES.context.path, AI_CORE_ROUTES.chatCompletions.path],
    requireTenant,
  );
  // The key travels as ?key=: Dapr invocation decodes the method path, so an
  // encoded '/', '?' or '#' inside a key would not survive as a path segment.
  const key = (query: unknown) => parseOr400(keyQuery, query).key;

  mountPromptRoute(routes, {
    pipeline: deps.pipeline,
    preference: deps.routing.preference,
    requestTimeoutMs: deps.requestTimeoutMs,
    logger: deps.logger,
    body,
  });

  routes.add('get', '/v1/context', async (req, res) => {
    const k = key(req.query);
    const text = await deps.contexts.get(tenantOf(res), k);
    if (text === undefined) throw httpError(404, 'no context is stored under this key');
    res.json({ key: k, text });
  });
  routes.add('put', '/v1/context', ...body, async (req, res) => {
    const k = key(req.query);
    const { text, ttlSeconds } = parseOr400(contextPutSchema, req.body);
    res.json({ key: k, stored: true, cache: await deps.contexts.put(tenantOf(res), k, text, ttlSeconds) });
  });
  routes.add('delete', '/v1/context', async (req, res) => {
    const k = key(req.query);
    res.json({ key: k, deleted: true, cache: await deps.contexts.delete(tenantOf(res), k) });
  });

  mountChatRoutes(routes, {
    pipeline: deps.pipeline,
    routing: deps.routing,
    models: deps.models,
    requestTimeoutMs: deps.requestTimeoutMs,
    logger: deps.logger,
    body,
  });

  addHealthRoutes(routes, deps.readiness);
  routes.finish(deps.logger, [[OPENAI_PATHS, openAiErrorHandler(deps.logger)]]);
}

/** The sidecar proves itself with APP_API_TOKEN; anything else reaching our port directly is refused. */
function requireAppToken(token: string): RequestHandler {
  return (req, _res, next) => {
    if (PUBLIC_PATHS.has(req.path)) return next();
    const given = req.header('dapr-api-token');
    if (given && safeEqual(given, token)) return next();
    next(httpError(401, 'missing or wrong dapr-api-token'));
  };
}
