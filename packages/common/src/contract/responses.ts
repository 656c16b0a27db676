/**
 * What the public API answers, as zod schemas: the OpenAPI document
 * (openapi/) is generated from them and the TypeScript types of
 * requests.ts are inferred from them, so neither can drift.
 * `meta({ id })` names each one's component in the document.
 */
import { z } from 'zod';
import { MODEL_ERROR_CODES } from './outcomes';
import { STRATEGIES } from './strategies';

const tokens = z.number().int().min(0);

export const modelOutcomeSchema = z
  .object({
    status: z.enum(['ok', 'error', 'timeout', 'circuit_open', 'skipped']),
    text: z.string().optional(),
    latencyMs: z.number().min(0),
    usage: z.object({ inputTokens: tokens, outputTokens: tokens }).optional(),
    finishReason: z
      .enum(['stop', 'length', 'content_filter'])
      .optional()
      .describe('Why the model stopped: `length` when maxTokens was reached.'),
    code: z.enum(Object.keys(MODEL_ERROR_CODES) as [keyof typeof MODEL_ERROR_CODES]).optional(),
    error: z.string().optional().describe("A fixed text per `code`, safe to show (never the provider's words)."),
  })
  .meta({ id: 'ModelOutcome', description: "One model's part in an answer; `code` says why it gave none." });

export const fusionReportSchema = z
  .object({
    outcome: z
      .enum(['synthesised', 'agreed', 'single'])
      .describe(
        'synthesised: written from both drafts; agreed: they agreed, the preferred one stands; single: one draft (the other failed, or the synthesis did).',
      ),
    similarity: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe("Jaccard similarity of the two drafts' words, when there were two."),
    by: z.string().describe('The model whose text is the answer (the synthesiser when synthesised).'),
    from: z.array(z.string()).describe('The drafts the answer rests on.'),
    synthesis: modelOutcomeSchema.optional(),
  })
  .meta({
    id: 'FusionReport',
    description:
      'How strategy `fuse` reached its answer; `synthesis`: the synthesis call, when one was made (its usage counts).',
  });

const askResponseShape = {
  requestId: z.string(),
  answer: z.string(),
  answeredBy: z.string(),
  strategy: z.enum(STRATEGIES),
  degraded: z
    .boolean()
    .meta({ description: 'A model failed (another answered) or the context store failed (answered without context).' }),
  context: z.object({ source: z.enum(['redis', 'dynamodb', 'none']), key: z.string() }),
  models: z
    .record(z.string(), modelOutcomeSchema)
    .describe(
      'One entry per configured model, in preference order (on a cache hit: the call that produced the answer).',
    ),
  cache: z.enum(['hit', 'miss', 'bypass']).describe('What the answer cache did (also the x-context-qa-cache header).'),
  fusion: fusionReportSchema.optional(), // strategy `fuse` only
};

export const askResponseSchema = z.object(askResponseShape).meta({ id: 'AskResponse' });

/** The original sketch's answer (`POST /prompt`): each default model's text besides, empty when it gave none. */
export const legacyAskResponseSchema = z
  .object({ ...askResponseShape, llama: z.string(), gpt4: z.string() })
  .meta({ id: 'LegacyAskResponse' });

/** RFC 9457 problem details with our stable `code` and the request id; the optional members appear where noted. */
export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string().meta({ description: 'Stable, machine-readable reason; branch on it, never on `detail`.' }),
    detail: z.string().optional(),
    requestId: z.string().optional(),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe('400 for bad fields: each field path and what is wrong with it.'),
    models: z
      .record(z.string(), modelOutcomeSchema)
      .optional()
      .describe(
        "400 model_rejected_request, 429 rate_limited, 503 no_model_answered, 504 deadline_exceeded: each model's outcome.",
      ),
    limit: z
      .enum(['requests_per_minute', 'tokens_per_minute', 'tokens_per_day', 'in_flight', 'busy'])
      .optional()
      .describe('429: the limit that was reached.'),
    allow: z.array(z.string()).optional().describe('405: the methods the path allows (also the Allow header).'),
  })
  .meta({ id: 'Problem' });

export const healthSchema = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });
/** The public port says ready only (503 problem+json `not_ready` otherwise); the checks are on the metrics port. */
export const readinessSchema = z.object({ status: z.literal('ready') }).meta({ id: 'Readiness' });
