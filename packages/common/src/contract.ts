/**
 * The API contract shared by gateway-service (public) and ai-core-service
 * (internal): request schemas and response shapes. One definition, two services.
 */
import { z } from 'zod';
import type { askResponseSchema, fusionReportSchema, modelOutcomeSchema } from './responses';

const contextKey = z
  .string()
  .min(1)
  .max(512)
  .refine((k) => !k.includes('||'), { message: 'must not contain "||" (reserved by Dapr state keys)' });

/** both: in parallel; fastest: first success wins; primary: the other only on failure;
 * sequential: one after the other, always both (the original sketch; a baseline);
 * fuse: both, then one final answer from the two drafts (README "Fusion"). */
export const STRATEGIES = ['both', 'fastest', 'primary', 'sequential', 'fuse'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export const askRequestSchema = z.strictObject({
  prompt: z.string().trim().min(1).max(16_000),
  contextKey: contextKey.optional(),
  strategy: z.enum(STRATEGIES).default('both'),
  maxTokens: z.number().int().min(1).max(4096).optional(),
  /** false: skip the answer cache (neither read nor written), like `Cache-Control: no-cache`. */
  cache: z.boolean().optional(),
});
export type AskRequest = z.infer<typeof askRequestSchema>;

export const contextKeySchema = contextKey;

export const contextPutSchema = z.strictObject({
  text: z.string().min(1).max(100_000),
  ttlSeconds: z.number().int().min(1).max(31_536_000).optional(),
});
export type ContextPut = z.infer<typeof contextPutSchema>;

/** A model's name as the deployment configures it (ai-core's MODELS); models are data, not a closed set. */
export type ModelName = string;
/** The two models of the default catalogue, which the legacy /prompt route answers as `llama` and `gpt4`. */
export const LEGACY_MODEL_NAMES = ['llama4', 'gpt4'] as const;

/**
 * Every ai-core route the gateway calls through Dapr service invocation, with its verbs.
 * One list: the gateway's call sites take their paths from it, and the EKS access-control
 * policy (k8s/base/dapr/configuration.yaml) must allow exactly these, no more
 * (`make check-manifests`; test/integration/mtls.test.ts calls each under that policy).
 * A route missing there is denied on EKS only: 403 at ai-core's sidecar, 502 to the caller.
 */
export const AI_CORE_ROUTES = {
  process: { path: '/process', verbs: ['POST'] },
  /** The context key travels as ?key=; access control matches the path only. */
  context: { path: '/v1/context', verbs: ['GET', 'PUT', 'DELETE'] },
  chatCompletions: { path: '/v1/chat/completions', verbs: ['POST'] },
  models: { path: '/v1/models', verbs: ['GET'] },
} as const satisfies Record<string, { path: `/${string}`; verbs: readonly ('GET' | 'POST' | 'PUT' | 'DELETE')[] }>;
export type AiCoreRoute = keyof typeof AI_CORE_ROUTES;
/** The OpenAI-compatible routes, the same paths on the gateway (public) and on ai-core: their errors are in OpenAI's shape on both. */
export const OPENAI_PATHS = [AI_CORE_ROUTES.chatCompletions.path, AI_CORE_ROUTES.models.path];

export type ModelStatus = ModelOutcome['status'];

/**
 * Why a model gave no answer: a stable code per outcome, with a fixed message.
 * Upstream messages (which can carry ARNs, account ids, secret names, URLs) go
 * to the logs only, never into a response.
 */
export const MODEL_ERROR_CODES = {
  timeout: 'the model did not answer within its deadline',
  rate_limited: 'the model provider throttled the call',
  unauthorized: 'the model provider refused our credentials',
  bad_request: 'the model provider rejected the request',
  upstream_error: 'the model provider failed',
  circuit_open: 'calls to this model are paused after repeated failures',
  overloaded: 'too many calls to this model are in flight',
  cancelled: 'the call was stopped before it finished',
  not_needed: 'another model answered first',
} as const;
export type ModelErrorCode = keyof typeof MODEL_ERROR_CODES;

// Response types are inferred from their zod schemas (responses.ts), from which the OpenAPI document is generated.
export type ModelOutcome = z.infer<typeof modelOutcomeSchema>;
export type ContextSource = AskResponse['context']['source'];

/** What the answer cache did: served the answer, missed (models called), or was not used. */
export type AnswerCacheStatus = AskResponse['cache'];
/**
 * Tenants (README "Tenants"). Every context key, stored document and cached answer belongs to one;
 * the pattern has no ':', so the store key `<tenant>::<key>` cannot be forged by any context key.
 */
export const tenantSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a tenant is 1–63 of a–z, 0–9 and "-", starting with a letter or digit');
export type Tenant = z.infer<typeof tenantSchema>;
/** The tenant of a key entry without one: today's keys and examples keep working. */
export const DEFAULT_TENANT = 'default';
/** Request header: read (or, all-tenants admin, manage) another tenant's context; validated by the gateway only. */
export const REQUESTED_TENANT_HEADER = 'x-context-tenant';
/** gateway → ai-core only: the tenant the gateway decided from the authenticated key; never taken from a caller. */
export const TENANT_HEADER = 'x-context-qa-tenant';
/** Where a tenant's context lives in the context stores (an ingestion job writes the same key). */
export const tenantStoreKey = (tenant: Tenant, key: string): string => `${tenant}::${key}`;

/** Response header (both /v1/prompt and /v1/chat/completions) carrying the AnswerCacheStatus. */
export const ANSWER_CACHE_HEADER = 'x-context-qa-cache';

/** How strategy `fuse` reached its answer. */
export type FusionReport = z.infer<typeof fusionReportSchema>;
export type AskResponse = z.infer<typeof askResponseSchema>;

export interface ContextDocument {
  key: string;
  text: string;
  updatedAt?: string;
}
