import type { Express, Request, RequestHandler, Response } from 'express';
import {
  addHealthRoutes,
  askRequestSchema,
  contextKeySchema,
  contextPutSchema,
  httpError,
  jsonBody,
  parseOr400,
  PROBLEM_CONTENT_TYPE,
  requestContext,
  routeTable,
  type AskResponse,
  type Logger,
  type Readiness,
} from '@context-qa/common';
import type { AiCore, Forwarded } from '../adapters/ai-core-invoker';
import { allows, verifyApiKey, type ApiKeyEntry, type Scope } from '../domain/api-keys';

export interface RouteDeps {
  logger: Logger;
  aiCore: AiCore;
  apiKeys: () => readonly ApiKeyEntry[];
  readiness: Readiness;
  bodyLimit: string;
}

export function mountRoutes(app: Express, deps: RouteDeps): void {
  const routes = routeTable(app);
  const body = jsonBody(deps.bodyLimit);
  const auth = (scope: Scope) => authenticate(deps.apiKeys, scope);
  const ctx = () => requestContext.get() ?? { requestId: '' };
  const send = (res: Response, out: Forwarded, map: (b: any) => unknown = (b) => b) => {
    if (out.status >= 400) res.status(out.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify({ ...(out.body as object), requestId: ctx().requestId }));
    else res.status(out.status).json(map(out.body));
  };
  const ask = (req: Request) => deps.aiCore.send('POST', '/process', parseOr400(askRequestSchema, req.body), ctx());

  routes.add('post', '/v1/prompt', auth('ask'), ...body, async (req, res) => send(res, await ask(req)));

  // The original sketch's route: ?prompt=… or the JSON body, plus its answer keys.
  routes.add('post', '/prompt', auth('ask'), ...body, async (req, res) => {
    if (req.body === undefined && typeof req.query['prompt'] === 'string') req.body = { prompt: req.query['prompt'] };
    send(res, await ask(req), (b: AskResponse) => ({ ...b, llama: b.models.llama4.text ?? '', gpt4: b.models.gpt4.text ?? '' }));
  });

  // ai-core takes the key as ?key= (see its routes): it survives Dapr's path decoding.
  const contextPath = (req: Request) => `/v1/context?key=${encodeURIComponent(parseOr400(contextKeySchema, req.params['key']))}`;
  routes.add('get', '/v1/context/:key', auth('admin'), async (req, res) => send(res, await deps.aiCore.send('GET', contextPath(req), undefined, ctx())));
  routes.add('put', '/v1/context/:key', auth('admin'), ...body, async (req, res) => {
    const path = contextPath(req);
    send(res, await deps.aiCore.send('PUT', path, parseOr400(contextPutSchema, req.body), ctx()));
  });
  routes.add('delete', '/v1/context/:key', auth('admin'), async (req, res) => send(res, await deps.aiCore.send('DELETE', contextPath(req), undefined, ctx())));

  addHealthRoutes(routes, deps.readiness);
  routes.finish(deps.logger);
}

/** Authorization: Bearer <key> or x-api-key: <key>; 401 without a valid key, 403 without the scope. */
function authenticate(keys: () => readonly ApiKeyEntry[], scope: Scope): RequestHandler {
  return (req, res, next) => {
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.header('authorization') ?? '')?.[1];
    const presented = bearer ?? req.header('x-api-key');
    const caller = presented ? verifyApiKey(keys(), presented) : undefined;
    if (!caller) {
      res.setHeader('www-authenticate', 'Bearer');
      return next(httpError(401, presented ? 'API key not recognised' : 'an API key is required (Authorization: Bearer or x-api-key)'));
    }
    if (!allows(caller.scope, scope)) return next(httpError(403, `this API key lacks the "${scope}" scope`));
    next();
  };
}
