/**
 * The OpenAPI 3.1 document of gateway-service's public API, generated from
 * the zod schemas the services validate and answer with (contract.ts,
 * openai.ts, responses.ts). `make openapi` writes it to docs/openapi.json;
 * the gateway serves it at GET /openapi.json.
 */
import {
  OpenAPIRegistry,
  OpenApiGeneratorV31,
  type ResponseConfig,
  type RouteConfig,
} from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import {
  ANSWER_CACHE_HEADER,
  ANSWERED_BY_HEADER,
  askRequestSchema,
  askResponseSchema,
  CONTEXT_KEY_HEADER,
  healthSchema,
  legacyAskResponseSchema,
  problemSchema,
  readinessSchema,
  REQUEST_ID_HEADER,
  REQUESTED_TENANT_HEADER,
  tenantSchema,
} from '../contract';
import { PROBLEM_CONTENT_TYPE } from '../http/problem';
import {
  chatCompletionSchema,
  chatRequestSchema,
  chatStreamEventSchema,
  modelListSchema,
  openAiErrorSchema,
} from '../openai';

type Headers = NonNullable<ResponseConfig['headers']>;
type Content = NonNullable<ResponseConfig['content']>;

const ref = (kind: 'headers' | 'schemas', name: string) => ({ $ref: `#/components/${kind}/${name}` });
const header = {
  requestId: { [REQUEST_ID_HEADER]: ref('headers', 'RequestId') },
  retryAfter: { 'retry-after': ref('headers', 'RetryAfter') },
  retryAfterAlways: { 'retry-after': ref('headers', 'RetryAfterAlways') },
  rateLimit: { 'ratelimit-policy': ref('headers', 'RateLimitPolicy'), ratelimit: ref('headers', 'RateLimit') },
  cache: { [ANSWER_CACHE_HEADER]: ref('headers', 'AnswerCache') },
  answeredBy: { [ANSWERED_BY_HEADER]: ref('headers', 'AnsweredBy') },
  unauthorized: { 'www-authenticate': ref('headers', 'WwwAuthenticate') },
};

/** A response; x-request-id is on every one. */
export const response = (description: string, content?: Content, headers: Headers = {}): ResponseConfig => ({
  description,
  headers: { ...header.requestId, ...headers },
  ...(content ? { content } : {}),
});
export const json = (schema: z.ZodType): Content => ({ 'application/json': { schema } });
export const problem: Content = { [PROBLEM_CONTENT_TYPE]: { schema: problemSchema } };
const openAiError: Content = { 'application/json': { schema: openAiErrorSchema } };

/** The errors every authenticated route can answer, by status: the `code`s and headers of each. */
export function errorResponses(
  body: Content,
  codes: Record<number, string>,
  extraHeaders: Record<number, Headers> = {},
): Record<number, ResponseConfig> {
  const headers: Record<number, Headers> = {
    401: header.unauthorized,
    429: { ...header.retryAfterAlways, ...header.rateLimit },
    503: header.retryAfter,
    ...extraHeaders,
  };
  return Object.fromEntries(
    Object.entries(codes).map(([status, description]) => [
      status,
      response(description, body, headers[Number(status)]),
    ]),
  );
}

export const AUTH_ERRORS = {
  401: '`unauthorized`: no API key, or an unknown, malformed or expired one',
  403: '`forbidden`: the key lacks the scope · `tenant_not_granted`: x-context-tenant names a tenant the key may not use',
};
export const UPSTREAM_ERRORS = {
  500: '`internal_server_error`: unexpected (logged; no details reach the client)',
  502: '`ai_core_rejected_token` · `ai_core_bad_response`: a deployment fault between the services',
};
const PROMPT_ERRORS = {
  400: "`bad_request`: malformed JSON or bad fields (`errors` names each field path) · `exceeds_token_limit`: the estimated cost alone is above the key's token limit · `model_rejected_request`: every model refused it (`models`)",
  ...AUTH_ERRORS,
  413: '`content_too_large`: the body is over the limit',
  415: '`unsupported_media_type`: the body is not application/json',
  429: '`rate_limit_exceeded`: the key reached a limit (`limit` names it) · `rate_limited`: every model is throttling (Retry-After, `models`)',
  ...UPSTREAM_ERRORS,
  503: '`overloaded` (this replica is at capacity: Retry-After) · `keys_not_loaded` · `limits_unavailable` · `no_model_answered` (`models` says why each failed; Retry-After when a breaker or bulkhead refused) · `ai_core_unavailable` · `ai_core_unreachable`',
  504: '`deadline_exceeded`: the budget ran out in ai-core (`models`) · `ai_core_timeout`: at the gateway',
};
const CHAT_ERRORS = {
  ...PROMPT_ERRORS,
  400: '`invalid_request`: bad or unsupported field (`param` names it) · `bad_request`: malformed JSON · `model_rejected_request`: every model refused it · `exceeds_token_limit`',
  404: '`model_not_found`',
  429: '`rate_limit_exceeded`: the key reached a limit · `rate_limited`: every model is throttling',
  500: '`internal_server_error` · `internal_error` (in ai-core): unexpected (logged; no details reach the client)',
  503: '`overloaded` (this replica is at capacity: Retry-After) · `no_model_answered` (Retry-After when a breaker or bulkhead refused) · `keys_not_loaded` · `limits_unavailable` · `ai_core_unavailable` · `ai_core_unreachable`',
};
const MODELS_ERRORS = { ...AUTH_ERRORS, ...UPSTREAM_ERRORS, 503: CHAT_ERRORS[503], 504: '`ai_core_timeout`' };

export const requestIdHeader = {
  [REQUEST_ID_HEADER]: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/)
    .optional()
    .describe('Your id for this request (echoed, and in logs); another value is replaced by a new UUID.'),
};
/** docs/tenants-and-limits.md "Tenants": read a granted tenant's context (admin with allTenants: manage any tenant's). */
export const tenantHeader = {
  [REQUESTED_TENANT_HEADER]: tenantSchema
    .optional()
    .describe("Another tenant whose context to use, if the key is granted it; default: the key's own tenant."),
};
const requestHeaders = {
  ...requestIdHeader,
  ...tenantHeader,
  'cache-control': z.string().optional().describe('`no-cache` skips the answer cache.'),
};

const headerComponents: Record<string, { description: string; required?: boolean; schema: Record<string, unknown> }> = {
  RequestId: {
    description:
      "The request id (the caller's x-request-id when sane, else a new UUID); also `requestId` in bodies and every log line.",
    required: true,
    schema: { type: 'string' },
  },
  RetryAfter: {
    description: 'Seconds to wait before retrying, when waiting helps.',
    schema: { type: 'integer', minimum: 0 },
  },
  RetryAfterAlways: {
    description: 'Seconds to wait before retrying.',
    required: true,
    schema: { type: 'integer', minimum: 0 },
  },
  RateLimitPolicy: {
    description:
      'The limits in force for a limited key (IETF httpapi draft), e.g. `"requests-per-minute";q=60;w=60, "tokens-per-day";q=100000;w=86400`.',
    schema: { type: 'string' },
  },
  RateLimit: {
    description:
      'What is left of each limit: `"requests-per-minute";r=59;t=42, …` (`r` remaining, `t` seconds to reset).',
    schema: { type: 'string' },
  },
  AnswerCache: {
    description: 'What the answer cache did.',
    schema: { type: 'string', enum: ['hit', 'miss', 'bypass'] },
  },
  AnsweredBy: { description: 'The model that answered.', schema: { type: 'string' } },
  WwwAuthenticate: { description: '`Bearer`', schema: { type: 'string' } },
};

/** A registry with the security schemes and response headers both documents use. */
export function baseRegistry(): OpenAPIRegistry {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key: `Authorization: Bearer <key>`.',
  });
  registry.registerComponent('securitySchemes', 'apiKey', {
    type: 'apiKey',
    in: 'header',
    name: 'x-api-key',
    description: 'The same API key in `x-api-key`.',
  });
  for (const [name, h] of Object.entries(headerComponents)) registry.registerComponent('headers', name, h);
  return registry;
}

/** Either key header; routes without auth say `security: []`. */
export const API_KEY_SECURITY: Record<string, string[]>[] = [{ bearer: [] }, { apiKey: [] }];

// Named in the document (a copy: the services' own schemas stay as they are).
const askRequest = askRequestSchema.meta({ id: 'AskRequest' });
const chatRequest = chatRequestSchema.meta({ id: 'ChatRequest' });

const open: Pick<RouteConfig, 'security'> = { security: [] };
const ok = (description: string, schema: z.ZodType) =>
  response(description, json(schema), { ...header.cache, ...header.rateLimit });

/** The public routes (registered per call: openApiDocument() stays pure). */
function publicRegistry(): OpenAPIRegistry {
  const registry = baseRegistry();
  registry.registerPath({
    method: 'post',
    path: '/v1/prompt',
    operationId: 'ask',
    tags: ['answers'],
    summary: 'Answer a prompt from the context and the configured models (scope `ask`)',
    request: { headers: z.object(requestHeaders), body: { required: true, content: json(askRequest) } },
    responses: {
      200: ok("The answer, with each model's outcome", askResponseSchema),
      ...errorResponses(problem, PROMPT_ERRORS),
    },
  });

  registry.registerPath({
    method: 'post',
    path: '/prompt',
    operationId: 'askLegacy',
    tags: ['answers'],
    summary:
      "The original sketch's route: like /v1/prompt, the prompt also as `?prompt=`, the answer also with `llama` and `gpt4`",
    request: {
      query: z.object({ prompt: z.string().optional().describe('The prompt, when there is no body.') }),
      headers: z.object(requestHeaders),
      body: { required: false, content: json(askRequest) },
    },
    responses: {
      200: ok('The answer, with `llama` and `gpt4`', legacyAskResponseSchema),
      ...errorResponses(problem, PROMPT_ERRORS),
    },
  });

  registry.registerPath({
    method: 'post',
    path: '/v1/chat/completions',
    operationId: 'createChatCompletion',
    tags: ['openai'],
    summary: "OpenAI Chat Completions (scope `ask`); errors in OpenAI's shape",
    request: {
      headers: z.object({
        ...requestHeaders,
        [CONTEXT_KEY_HEADER]: z
          .string()
          .min(1)
          .max(512)
          .optional()
          .describe('Where the context comes from (or `context_key`).'),
      }),
      body: { required: true, content: json(chatRequest) },
    },
    responses: {
      200: response(
        'The completion; with `stream: true` Server-Sent Events: `data: <ChatStreamEvent>` each, then `data: [DONE]` (an error event instead ends a stream that broke off)',
        {
          'application/json': { schema: chatCompletionSchema },
          'text/event-stream': {
            schema: { type: 'string' },
            'x-sse-data-schema': ref('schemas', 'ChatStreamEvent'),
          } as Content[string],
        },
        { ...header.cache, ...header.answeredBy, ...header.rateLimit },
      ),
      ...errorResponses(openAiError, CHAT_ERRORS),
    },
  });

  registry.registerPath({
    method: 'get',
    path: '/v1/models',
    operationId: 'listModels',
    tags: ['openai'],
    summary: 'The configured models and the routing aliases (scope `ask`)',
    responses: { 200: response('The models', json(modelListSchema)), ...errorResponses(openAiError, MODELS_ERRORS) },
  });

  registry.registerPath({
    method: 'get',
    path: '/healthz',
    operationId: 'health',
    tags: ['health'],
    summary: 'The process is alive',
    ...open,
    responses: { 200: response('Alive', json(healthSchema)) },
  });
  registry.registerPath({
    method: 'get',
    path: '/readyz',
    operationId: 'readiness',
    tags: ['health'],
    summary: 'It should get traffic (own sidecar reachable, API keys loaded; never depends on ai-core)',
    ...open,
    responses: {
      200: response('Ready', json(readinessSchema)),
      503: response(
        'Not ready, or draining at shutdown (`code` not_ready; which check failed is on the internal metrics port)',
        problem,
      ),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/openapi.json',
    operationId: 'openApiDocument',
    tags: ['health'],
    summary: 'This document',
    ...open,
    responses: { 200: response('OpenAPI 3.1', { 'application/json': { schema: { type: 'object' } } }) },
  });

  /** zod-to-openapi 9.1 leaves null out of a nullable literal's `enum` (`n: 1 | null` would refuse null): put it back. */
  return registry;
}

function withNullInEnums<T>(node: T): T {
  if (Array.isArray(node)) node.forEach(withNullInEnums);
  else if (node && typeof node === 'object') {
    const s = node as { type?: unknown; enum?: unknown[] };
    if (Array.isArray(s.type) && s.type.includes('null') && Array.isArray(s.enum) && !s.enum.includes(null))
      s.enum.push(null);
    Object.values(node).forEach(withNullInEnums);
  }
  return node;
}

/** The document (pure: a new object on every call). */
export function openApiDocument() {
  // chatStreamEventSchema only appears in the x-sse-data-schema extension: listed so its component exists.
  const definitions = [...publicRegistry().definitions, { type: 'schema' as const, schema: chatStreamEventSchema }];
  const doc = new OpenApiGeneratorV31(definitions, { sortComponents: 'alphabetically' }).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'context-qa gateway',
      version: '1.0.0',
      description:
        "Q&A over your context and two LLMs. Errors are `application/problem+json` with a stable `code` and the `requestId`, except on the OpenAI-compatible routes, which answer in OpenAI's error shape. A path that does not exist answers 404, a method a path does not allow 405 with `Allow`, each in the error shape of its route.",
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    security: API_KEY_SECURITY,
    tags: [
      { name: 'answers', description: 'Answers from the context and the models' },
      { name: 'openai', description: 'OpenAI-compatible: point an OpenAI client at `/v1` with the API key' },
      { name: 'health', description: 'No API key needed' },
    ],
  });
  return withNullInEnums(doc);
}
