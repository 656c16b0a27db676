import type { Express, RequestHandler } from 'express';
import { z } from 'zod';
import {
  AI_CORE_ROUTES,
  ANSWER_CACHE_HEADER,
  type AskRequest,
  askRequestSchema,
  type AskResponse,
  contextKeySchema,
  contextPutSchema,
  OPENAI_PATHS,
} from '@context-qa/common/contract';
import { safeEqual } from '@context-qa/common/crypto';
import { type Deadline, requestDeadline } from '@context-qa/common/deadline';
import { addHealthRoutes, httpError, jsonBody, noteAccess, openAiErrorHandler, parseOr400, type Readiness, routeTable } from '@context-qa/common/http';
import { type Logger, requestContext } from '@context-qa/common/telemetry';
import type { AskOptions } from '../domain/ask';
import { noCacheRequested } from '../domain/answer-cache';
import { mountChatRoutes, type ChatService } from './chat';
import type { ContextAdmin } from '../domain/context-admin';
import { requireTenant, tenantOf } from './tenant';
import { answerFailure } from './failures';
import { meterSpend } from './spend-header';

export interface RouteDeps {
  logger: Logger;
  /** `opts.bypass`: the caller sent Cache-Control: no-cache (the body flag `cache: false` is in `req`); `opts.tenant`: the gateway's. */
  ask: (req: AskRequest, requestId: string, deadline: Deadline, opts: AskOptions) => Promise<AskResponse>;
  /** The OpenAI-compatible chat (routes in chat.ts). */
  chat: ChatService;
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
  app.use([AI_CORE_ROUTES.process.path, AI_CORE_ROUTES.context.path, AI_CORE_ROUTES.chatCompletions.path], requireTenant);
  // The key travels as ?key=: Dapr invocation decodes the method path, so an
  // encoded '/', '?' or '#' inside a key would not survive as a path segment.
  const key = (query: unknown) => parseOr400(keyQuery, query).key;

  routes.add('post', '/process', ...body, meterSpend, async (req, res) => {
    const input = parseOr400(askRequestSchema, req.body);
    const requestId = requestContext.get()?.requestId ?? '';
    const deadline = requestDeadline(req, res, deps.requestTimeoutMs, true);
    try {
      const answer = await deps.ask(input, requestId, deadline, { bypass: noCacheRequested(req.header('cache-control')), tenant: tenantOf(res) });
      noteAccess(res, { answeredBy: answer.answeredBy, degraded: answer.degraded });
      res.setHeader(ANSWER_CACHE_HEADER, answer.cache);
      if (answer.degraded) {
        const cause = degradedCause(answer);
        deps.logger.warn({ degraded: true, cause }, 'degraded answer');
        // The fallback, on the request's trace: which models failed and how, and who answered instead.
        requestContext.get()?.span?.addEvent('context_qa.fallback', {
          'context_qa.answered_by': answer.answeredBy,
          'context_qa.failed_models': Object.entries(cause.models).map(([m, o]) => `${m}:${o.code ?? o.status}`),
          'context_qa.context_source': cause.context,
        });
      }
      res.json(answer);
    } catch (err) {
      const failure = answerFailure(err, deadline);
      if (!failure) throw err;
      if (failure.retryAfterS) res.setHeader('retry-after', String(failure.retryAfterS));
      throw httpError(failure.status, failure.message, { code: failure.code, ...(failure.models ? { models: failure.models } : {}) });
    }
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

  mountChatRoutes(routes, { chat: deps.chat, requestTimeoutMs: deps.requestTimeoutMs, logger: deps.logger, body });

  addHealthRoutes(routes, deps.readiness);
  routes.finish(deps.logger, [[OPENAI_PATHS, openAiErrorHandler(deps.logger)]]);
}

/** Why an answer is degraded: each model that did not answer, with status and code; the context source. Never text. */
function degradedCause(answer: AskResponse) {
  const models = Object.fromEntries(
    Object.entries(answer.models)
      .filter(([, o]) => o.status !== 'ok')
      .map(([m, o]) => [m, { status: o.status, ...(o.code ? { code: o.code } : {}) }]),
  );
  return { models, context: answer.context.source };
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
