import type { Express, Request, RequestHandler, Response } from 'express';
import { AI_CORE_ROUTES, type AskRequest, askRequestSchema, type AskResponse, contextKeySchema, contextPutSchema, OPENAI_PATHS } from '@context-qa/common/contract';
import { keyHash } from '@context-qa/common/crypto';
import { requestDeadline } from '@context-qa/common/deadline';
import {
  type AccessFields,
  addHealthRoutes,
  httpError,
  jsonBody,
  noteAccess,
  openAiErrorHandler,
  parseOr400,
  PROBLEM_CONTENT_TYPE,
  type Readiness,
  routeTable,
} from '@context-qa/common/http';
import { openApiDocument } from '@context-qa/common/openapi';
import { type Logger, requestContext } from '@context-qa/common/telemetry';
import { relayAnswerHeaders, type AiCore, type Forwarded } from '../adapters/ai-core-invoker';
import { mountChatRoutes } from './chat';
import { estimates, limitRequests, limitsUnavailable, noteSpend, queryPrompt, viaAiCore, type LimitDeps } from './limits';
import { allows, apiKeyEntrySchema, checkApiKey, maySeeUsageOf, type ApiKeyEntry, type Caller, type Scope } from '../domain/api-keys';
import { resolveTenant, tenantHeaders } from './tenancy';

const readTenant = resolveTenant('read');
const writeTenant = resolveTenant('write');

const keyIdSchema = apiKeyEntrySchema.shape.id;

export interface RouteDeps {
  logger: Logger;
  aiCore: AiCore;
  /** undefined until the key list is first loaded. */
  apiKeys: () => readonly ApiKeyEntry[] | undefined;
  readiness: Readiness;
  bodyLimit: string;
  /** One budget per request, passed on to ai-core (see README "Deadlines"). */
  requestTimeoutMs: number;
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

export function mountRoutes(app: Express, deps: RouteDeps): void {
  const routes = routeTable(app);
  const body = jsonBody(deps.bodyLimit);
  const auth = (scope: Scope) => authenticate(deps.apiKeys, scope, deps.logger);
  const ctx = () => requestContext.get() ?? { requestId: '' };
  const send = <B>(res: Response, out: Forwarded, map: (b: B) => unknown = (b) => b) => {
    relayAnswerHeaders(res, out);
    if (out.status >= 400)
      res
        .status(out.status)
        .type(PROBLEM_CONTENT_TYPE)
        .send(JSON.stringify({ ...(out.body as object), requestId: ctx().requestId }));
    else res.status(out.status).json(map(out.body as B));
  };
  const call = (req: Request, res: Response, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, payload?: unknown, headers?: Record<string, string>) =>
    viaAiCore(res, deps.aiCore.send(method, path, payload, { ...ctx(), headers: { ...headers, ...tenantHeaders(res) } }, requestDeadline(req, res, deps.requestTimeoutMs)));
  const ask = async (req: Request, res: Response) => {
    // The caller's Cache-Control (no-cache: skip the answer cache) is ai-core's to judge.
    const cacheControl = req.header('cache-control');
    const out = await call(req, res, 'POST', AI_CORE_ROUTES.process.path, req.body as AskRequest, cacheControl ? { 'cache-control': cacheControl } : undefined);
    if (out.spend) noteSpend(res, out.spend);
    const answer = out.body as AskResponse;
    if (out.status < 300) noteAccess(res, { answeredBy: answer.answeredBy, degraded: answer.degraded });
    return out;
  };
  /** Validated before any limit is taken: a bad request is refused without counting against its key. */
  const validAsk: RequestHandler = (req, _res, next) => {
    req.body = parseOr400(askRequestSchema, req.body);
    next();
  };
  const limit = limitRequests(deps.limits, estimates.prompt);

  const surface = deps.surface ?? 'all';
  const admit: RequestHandler = deps.admit ?? ((_req, _res, next) => next());
  const perKey: RequestHandler = deps.perKey ?? ((_req, _res, next) => next());
  if (surface !== 'admin') {
    // The public API's OpenAPI document, without a key (client generators, API gateways); built on first use.
    let document: object | undefined;
    routes.add('get', '/openapi.json', (_req, res) => void res.json((document ??= openApiDocument())));
    mountChatRoutes(routes, { aiCore: deps.aiCore, admit, ask: auth('ask'), perKey, body, requestTimeoutMs: deps.requestTimeoutMs, logger: deps.logger, limits: deps.limits });
    routes.add('post', '/v1/prompt', admit, auth('ask'), perKey, ...body, validAsk, limit, async (req, res) => send(res, await ask(req, res)));

    // The original sketch's route: ?prompt=… or the JSON body, plus its answer keys.
    routes.add('post', '/prompt', admit, auth('ask'), perKey, ...body, queryPrompt, validAsk, limit, async (req, res) => {
      send(res, await ask(req, res), (b: AskResponse) => ({ ...b, llama: b.models.llama4?.text ?? '', gpt4: b.models.gpt4?.text ?? '' }));
    });
  }

  /**
   * Audit trail of admin access (context reads and writes, usage reads): which key id did what,
   * to what (a context key only hashed: it may be a normalised prompt), how it ended; never the text.
   */
  const audit = (res: Response, action: string, target: { contextKeyHash: string } | { targetKeyId: string }) => {
    const { requestId } = ctx();
    // 'close' also fires when the caller goes away mid-write: that attempt is audited too.
    res.once('close', () => {
      const status = res.statusCode;
      const result = !res.writableFinished ? 'aborted' : status < 300 ? 'ok' : 'failed';
      deps.logger.info({ audit: true, action, keyId: (res.locals['access'] as AccessFields | undefined)?.keyId, ...target, requestId, status, result }, 'audit');
    });
  };

  function mountContextRoutes() {
    // ai-core takes the key as ?key= (see its routes): it survives Dapr's path decoding.
    const contextKey = (req: Request) => parseOr400(contextKeySchema, req.params['key']);
    const contextPath = (key: string) => `${AI_CORE_ROUTES.context.path}?key=${encodeURIComponent(key)}`;
    routes.add('get', '/v1/context/:key', auth('admin'), async (req, res) => {
      const key = contextKey(req);
      audit(res, 'context.get', { contextKeyHash: keyHash(key) });
      send(res, await call(req, res, 'GET', contextPath(key)));
    });
    routes.add('put', '/v1/context/:key', auth('admin'), ...body, async (req, res) => {
      const key = contextKey(req);
      audit(res, 'context.put', { contextKeyHash: keyHash(key) });
      send(res, await call(req, res, 'PUT', contextPath(key), parseOr400(contextPutSchema, req.body)));
    });
    routes.add('delete', '/v1/context/:key', auth('admin'), async (req, res) => {
      const key = contextKey(req);
      audit(res, 'context.delete', { contextKeyHash: keyHash(key) });
      send(res, await call(req, res, 'DELETE', contextPath(key)));
    });
  }
  if (surface !== 'public') {
    mountContextRoutes();
    // What a key has used: this minute's requests and tokens, today's tokens, requests in flight.
    routes.add('get', '/v1/usage/:keyId', auth('admin'), async (req, res) => {
      const keyId = parseOr400(keyIdSchema, req.params['keyId']);
      audit(res, 'usage.get', { targetKeyId: keyId });
      // Another tenant's key is as unknown as a key that does not exist.
      const target = deps.apiKeys()?.find((e) => e.id === keyId);
      if (!maySeeUsageOf(res.locals['caller'] as Caller, target)) throw httpError(404, 'no API key with this id in your tenant', { code: 'key_not_found' });
      res.json(
        await deps.limits.limiter.usage(keyId).catch((err: unknown) => {
          throw limitsUnavailable(res, err);
        }),
      );
    });
  }

  addHealthRoutes(routes, deps.readiness);
  routes.finish(deps.logger, [[OPENAI_PATHS, openAiErrorHandler(deps.logger)]]);
}

/**
 * Authorization: Bearer <key> or x-api-key: <key>; 401 without a valid key, 403
 * without the scope; then the tenant the request acts in (tenancy.ts): reads
 * (asking, GET) may use a granted tenant, writes only the key's own. Before
 * the key list is loaded a presented key cannot be judged: 503 with
 * Retry-After (the list is retried every second), never a 401.
 */
function authenticate(keys: () => readonly ApiKeyEntry[] | undefined, scope: Scope, logger: Logger): RequestHandler {
  return (req, res, next) => {
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.header('authorization') ?? '')?.[1];
    const presented = bearer ?? req.header('x-api-key');
    const list = keys();
    if (presented && !list) {
      res.setHeader('retry-after', '1');
      return next(httpError(503, 'API keys are not loaded yet; retry shortly', { code: 'keys_not_loaded' }));
    }
    const check = presented && list ? checkApiKey(list, presented) : undefined;
    if (!check || !('caller' in check)) {
      // Expired reads like unknown to the caller; the log says which key, so its owner can be told.
      if (check?.refused === 'expired') logger.info({ keyId: check.keyId }, 'expired API key refused');
      res.setHeader('www-authenticate', 'Bearer');
      return next(httpError(401, presented ? 'API key not recognised' : 'an API key is required (Authorization: Bearer or x-api-key)'));
    }
    const { caller } = check;
    noteAccess(res, { keyId: caller.id });
    res.locals['caller'] = caller;
    if (!allows(caller.scope, scope)) return next(httpError(403, `this API key lacks the "${scope}" scope`));
    (scope === 'ask' || req.method === 'GET' ? readTenant : writeTenant)(req, res, next);
  };
}
