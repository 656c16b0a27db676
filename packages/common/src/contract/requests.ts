/**
 * The API contract shared by gateway-service (public) and ai-core-service
 * (internal): request schemas and the types of the response shapes
 * (responses.ts). One definition, two services.
 */
import { z } from 'zod';
import type { askResponseSchema, fusionReportSchema, modelOutcomeSchema } from './responses';
import { STRATEGIES } from './strategies';

const contextKey = z
  .string()
  .min(1)
  .max(512)
  .refine((k) => !k.includes('||'), { message: 'must not contain "||" (reserved by Dapr state keys)' });

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

export type ModelStatus = ModelOutcome['status'];

// Response types are inferred from their zod schemas (responses.ts), from which the OpenAPI document is generated.
export type ModelOutcome = z.infer<typeof modelOutcomeSchema>;
export type ContextSource = AskResponse['context']['source'];

/** What the answer cache did: served the answer, missed (models called), or was not used. */
export type AnswerCacheStatus = AskResponse['cache'];

/** How strategy `fuse` reached its answer. */
export type FusionReport = z.infer<typeof fusionReportSchema>;
export type AskResponse = z.infer<typeof askResponseSchema>;

export interface ContextDocument {
  key: string;
  text: string;
  updatedAt?: string;
}
