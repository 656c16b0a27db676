/**
 * The OpenAI Chat Completions wire format we answer, as zod schemas: the
 * OpenAPI document is generated from them and the types of chat.ts are
 * inferred from them. `meta({ id })` names each one's component in the document.
 */
import { z } from 'zod';

const tokens = z.number().int().min(0);

export const openAiErrorSchema = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.string(),
      param: z.string().nullable(),
      code: z.string().nullable(),
    }),
  })
  .meta({
    id: 'OpenAiError',
    description: "OpenAI's error body: what its SDKs turn into BadRequestError, AuthenticationError, RateLimitError…",
  });

const finishReason = z.enum(['stop', 'length', 'content_filter']);

export const usageWireSchema = z
  .object({ prompt_tokens: tokens, completion_tokens: tokens, total_tokens: tokens })
  .meta({ id: 'CompletionUsage' });

export const chatCompletionSchema = z
  .object({
    id: z.string(),
    object: z.literal('chat.completion'),
    created: z.number().int(),
    model: z.string().meta({ description: 'The model that answered (also the x-context-qa-model header).' }),
    choices: z.array(
      z.object({
        index: z.literal(0),
        message: z.object({ role: z.literal('assistant'), content: z.string(), refusal: z.null() }),
        finish_reason: finishReason,
        logprobs: z.null(),
      }),
    ),
    usage: usageWireSchema.optional(),
  })
  .meta({ id: 'ChatCompletion' });

export const chatCompletionChunkSchema = z
  .object({
    id: z.string(),
    object: z.literal('chat.completion.chunk'),
    created: z.number().int(),
    model: z.string(),
    choices: z
      .array(
        z.object({
          index: z.literal(0),
          delta: z.object({ role: z.literal('assistant').optional(), content: z.string().optional() }),
          finish_reason: finishReason.nullable(),
          logprobs: z.null(),
        }),
      )
      .describe('Empty in the usage chunk (stream_options.include_usage), which comes last.'),
    // A union, not .nullable(): zod-to-openapi 9.1 drops the null of a nullable $ref.
    usage: z.union([usageWireSchema, z.null()]).optional(),
  })
  .meta({ id: 'ChatCompletionChunk' });

/** One `data:` event of a stream: a chunk, or an error that ends it (never followed by [DONE]). */
export const chatStreamEventSchema = z
  .union([chatCompletionChunkSchema, openAiErrorSchema])
  .meta({ id: 'ChatStreamEvent' });

export const modelListSchema = z
  .object({
    object: z.literal('list'),
    data: z.array(
      z.object({
        id: z.string(),
        object: z.literal('model'),
        created: z.number().int(),
        owned_by: z.string(),
        max_calls: z
          .number()
          .int()
          .min(1)
          .optional()
          .describe(
            'Extension: the most model calls one request to this model or alias can make (what its token reservation covers).',
          ),
      }),
    ),
  })
  .meta({
    id: 'ModelList',
    description: 'The configured models, then the routing aliases (auto, primary, fastest, both, sequential, fuse).',
  });
