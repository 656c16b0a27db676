/**
 * The gateway's admin routes (scope `admin`), kept out of the public
 * document: they live on the internal ADMIN_PORT listener when it is set
 * (on the public port only without it, e.g. in `make dev`).
 */
import { OpenApiGeneratorV31, type OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { contextKeySchema, contextPutSchema } from '../contract';
import {
  API_KEY_SECURITY,
  AUTH_ERRORS,
  baseRegistry,
  errorResponses,
  json,
  problem,
  requestIdHeader,
  response,
  tenantHeader,
  UPSTREAM_ERRORS,
} from './public';

const cacheSync = z
  .enum(['refreshed', 'invalidated', 'failed'])
  .describe("What became of the Redis copy (failed: it expires on its own; the store's text stands).");
const contextDocument = z.object({ key: z.string(), text: z.string() }).meta({ id: 'ContextDocument' });
const contextWritten = z
  .object({ key: z.string(), stored: z.literal(true), cache: cacheSync })
  .meta({ id: 'ContextWritten' });
const contextDeleted = z
  .object({ key: z.string(), deleted: z.literal(true), cache: cacheSync })
  .meta({ id: 'ContextDeleted' });
const count = z.number().int().min(0);
const keyUsage = z
  .object({
    keyId: z.string(),
    minute: z.object({ requests: count, tokens: count, resetsInSeconds: count }),
    day: z.object({ tokens: count }),
    inFlight: count,
  })
  .meta({
    id: 'KeyUsage',
    description:
      "A key's use of its limits: this UTC minute's requests and tokens, today's tokens, requests in flight.",
  });

const ERRORS = {
  400: '`bad_request`: a bad key, or bad fields (`errors`)',
  ...AUTH_ERRORS,
  404: '`not_found`: no context under this key',
  413: '`content_too_large`',
  415: '`unsupported_media_type`',
  ...UPSTREAM_ERRORS,
  503: '`ai_core_unavailable` · `ai_core_unreachable` · `keys_not_loaded`',
  504: '`ai_core_timeout`',
};
const { 413: _413, 415: _415, ...READ_ERRORS } = ERRORS;

const keyParam = z.object({ key: contextKeySchema.describe('The context key, URL-encoded (`handbook%2Fintro`).') });
const tags = ['context'];
/** Every context route takes the request id and, for another tenant's context, the tenant. */
const contextHeaders = z.object({ ...requestIdHeader, ...tenantHeader });
/** The admin routes (registered per call: adminOpenApiDocument() stays pure). */
function adminRegistry(): OpenAPIRegistry {
  const registry = baseRegistry();
  registry.registerPath({
    method: 'get',
    path: '/v1/context/{key}',
    operationId: 'getContext',
    tags,
    summary: 'The stored context (DynamoDB)',
    request: { params: keyParam, headers: contextHeaders },
    responses: { 200: response('The context', json(contextDocument)), ...errorResponses(problem, READ_ERRORS) },
  });
  registry.registerPath({
    method: 'put',
    path: '/v1/context/{key}',
    operationId: 'putContext',
    tags,
    summary: 'Store context: DynamoDB first, then the Redis copy is refreshed',
    request: {
      params: keyParam,
      headers: contextHeaders,
      body: { required: true, content: json(contextPutSchema) },
    },
    responses: { 200: response('Stored', json(contextWritten)), ...errorResponses(problem, ERRORS) },
  });
  registry.registerPath({
    method: 'delete',
    path: '/v1/context/{key}',
    operationId: 'deleteContext',
    tags,
    summary: 'Delete context from DynamoDB and invalidate the Redis copy',
    request: { params: keyParam, headers: contextHeaders },
    responses: { 200: response('Deleted', json(contextDeleted)), ...errorResponses(problem, READ_ERRORS) },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/usage/{keyId}',
    operationId: 'getKeyUsage',
    tags: ['limits'],
    summary: "A key's use of its rate limits and token budgets",
    request: {
      params: z.object({ keyId: z.string().min(1).max(128).describe("The key's `id` (never the key itself).") }),
      headers: z.object(requestIdHeader),
    },
    responses: {
      200: response('The usage', json(keyUsage)),
      ...errorResponses(problem, {
        400: ERRORS[400],
        ...AUTH_ERRORS,
        404: "`key_not_found`: no key with this id in the admin's tenant (any key with allTenants)",
        500: UPSTREAM_ERRORS[500],
        503: '`limits_unavailable`: the rate-limit store is down (Retry-After)',
      }),
    },
  });
  return registry;
}

/** The admin document (pure: a new object on every call). */
export function adminOpenApiDocument() {
  return new OpenApiGeneratorV31(adminRegistry().definitions, { sortComponents: 'alphabetically' }).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'context-qa gateway: admin routes',
      version: '1.0.0',
      description:
        'Internal: served on ADMIN_PORT when set. Errors are `application/problem+json` with a stable `code`.',
    },
    security: API_KEY_SECURITY,
  });
}
