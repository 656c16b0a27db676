/**
 * The OpenAI Chat Completions wire format, as far as we serve it: the request
 * schema (shared by the gateway, which validates, and ai-core, which trusts
 * only what it parses itself), the error shape OpenAI clients parse, and the
 * response and chunk shapes.
 */
import { z } from 'zod';
import { contextKeySchema } from '../contract';
import type { chatCompletionChunkSchema, chatCompletionSchema, openAiErrorSchema, usageWireSchema } from './responses';

const textPart = z.strictObject({ type: z.literal('text'), text: z.string() });
const content = z.union([z.string(), z.array(textPart).min(1)], {
  error: 'must be a string or a list of {type: "text", text} parts (images, audio and files are not supported)',
});
const name = z.string().max(64).optional();

const chatMessage = z.discriminatedUnion(
  'role',
  [
    z.strictObject({ role: z.enum(['system', 'developer']), content, name }),
    z.strictObject({ role: z.literal('user'), content, name }),
    z.strictObject({
      role: z.literal('assistant'),
      content: content.nullable().optional(),
      name,
      refusal: z.string().nullable().optional(),
    }),
  ],
  { error: 'role must be system, developer, user or assistant (tool and function messages are not supported)' },
);

/** Fields OpenAI defines that we refuse by name, so the caller learns why rather than being ignored. */
export const UNSUPPORTED_CHAT_FIELDS = [
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'functions',
  'function_call',
  'logprobs',
  'top_logprobs',
  'logit_bias',
  'response_format',
  'audio',
  'modalities',
  'prediction',
  'web_search_options',
  'seed',
  'service_tier',
  'reasoning_effort',
  'metadata',
] as const;

/** Accepted only at the value that changes nothing (some clients always send it). */
const noOp = <T extends number | boolean>(value: T, what: string) =>
  z
    .literal(value, { error: `${what} is not supported (only ${value})` })
    .nullable()
    .optional();

/** Refused whatever its value; the meta is for the OpenAPI document (zod-to-openapi has no mapping for z.never: `not: {}` matches nothing). */
const refused = (field: string) =>
  z
    .never({ error: `${field} is not supported by this gateway` })
    .optional()
    .meta({ type: 'null', not: {}, description: 'Not supported: any value is refused with 400.' });

export const MAX_OUTPUT_TOKENS = 4096;

export const chatRequestSchema = z
  .strictObject({
    model: z.string().min(1).max(128),
    messages: z.array(chatMessage).min(1).max(256),
    max_tokens: z.number().int().min(1).max(MAX_OUTPUT_TOKENS).nullable().optional(),
    max_completion_tokens: z.number().int().min(1).max(MAX_OUTPUT_TOKENS).nullable().optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    stop: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1).max(4)])
      .nullable()
      .optional(),
    stream: z.boolean().nullable().optional(),
    stream_options: z.strictObject({ include_usage: z.boolean().optional() }).nullable().optional(),
    user: z.string().max(256).optional(),
    n: noOp(1, 'n > 1'),
    presence_penalty: noOp(0, 'presence_penalty'),
    frequency_penalty: noOp(0, 'frequency_penalty'),
    store: noOp(false, 'store'),
    /** Extension: where the context comes from (also the x-context-key header). */
    context_key: contextKeySchema.optional(),
    ...Object.fromEntries(UNSUPPORTED_CHAT_FIELDS.map((f) => [f, refused(f)])),
  })
  .superRefine((r, ctx) => {
    const last = r.messages.at(-1);
    if (last?.role !== 'user')
      ctx.addIssue({ code: 'custom', path: ['messages'], message: 'the last message must be from the user' });
    if (last?.role === 'user' && !textOf(last.content).trim())
      ctx.addIssue({ code: 'custom', path: ['messages'], message: 'the last user message is empty' });
    if (r.stream_options && !r.stream)
      ctx.addIssue({ code: 'custom', path: ['stream_options'], message: 'only allowed when stream is true' });
    if (r.max_tokens != null && r.max_completion_tokens != null && r.max_tokens !== r.max_completion_tokens) {
      ctx.addIssue({ code: 'custom', path: ['max_tokens'], message: 'max_tokens and max_completion_tokens disagree' });
    }
  });
export type ChatRequest = z.infer<typeof chatRequestSchema>;
export type ChatMessage = ChatRequest['messages'][number];

/** The text of a message's content (parts joined). */
export const textOf = (c: ChatMessage['content']): string =>
  typeof c === 'string' ? c : (c ?? []).map((p) => p.text).join('');

/** OpenAI's error body: what its SDKs turn into BadRequestError, AuthenticationError, NotFoundError… */
export type OpenAiError = z.infer<typeof openAiErrorSchema>;

const TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'invalid_request_error',
  405: 'invalid_request_error',
  413: 'invalid_request_error',
  415: 'invalid_request_error',
  429: 'rate_limit_error',
};

export function openAiError(
  status: number,
  message: string,
  code: string | null,
  param: string | null = null,
): OpenAiError {
  return {
    error: { message, type: TYPES[status] ?? (status === 503 ? 'service_unavailable' : 'server_error'), param, code },
  };
}

// The wire types are inferred from their zod schemas (responses.ts), from which the OpenAPI document is generated.
export type UsageWire = z.infer<typeof usageWireSchema>;
export type ChatCompletion = z.infer<typeof chatCompletionSchema>;
export type ChatCompletionChunk = z.infer<typeof chatCompletionChunkSchema>;
export type FinishReasonWire = ChatCompletion['choices'][number]['finish_reason'];

export const usageWire = (u: { inputTokens: number; outputTokens: number }): UsageWire => ({
  prompt_tokens: u.inputTokens,
  completion_tokens: u.outputTokens,
  total_tokens: u.inputTokens + u.outputTokens,
});
