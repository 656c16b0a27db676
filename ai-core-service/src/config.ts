/**
 * ai-core-service's settings: the environment schema, and the cross-checks that keep the timeouts consistent
 * (a model keeps its whole deadline after the lookups; the breaker window covers the longest call).
 */
import { baseConfig, baseConfigIssues, env, withChecks } from '@context-qa/common/config';
import { z } from 'zod';
import { azureEndpoint, modelEndpoint, modelIssues, modelsSchema } from './models-config';
import { BREAKER_WINDOW_BUCKETS, countedForMs, windowFor } from './adapters/models/breaker-window';

export { catalogue, modelPreference, modelSpecs, type CatalogueEntry, type ModelSpec } from './models-config';

/** Every setting of ai-core-service, read from the environment once at start-up. */
export const configSchema = withChecks(
  z.object({
    ...baseConfig({ port: 8081, metricsPort: 9465 }),
    BODY_LIMIT: z.string().default('128kb').describe('largest accepted request body'),
    APP_API_TOKEN: z
      .string()
      .min(1)
      .optional()
      .describe('token the sidecar sends us; when set, requests without it get 401'),

    CACHE_STORE: z.string().default('context-cache').describe('Dapr state store used as the cache'),
    CONTEXT_STORE: z.string().default('context-store').describe('Dapr state store that is the source of truth'),
    ANSWER_CACHE_STORE: z.string().default('answer-cache').describe('Dapr state store of the exact-match answer cache'),
    ANSWER_CACHE_TTL_SECONDS: z.coerce
      .number()
      .int()
      .min(0)
      .max(2_592_000)
      .default(300)
      .describe('how long a cached answer is served; 0 disables the answer cache'),
    SECRET_STORE: z.string().default('secrets').describe('Dapr secret store'),
    CACHE_TTL_SECONDS: z.coerce
      .number()
      .int()
      .positive()
      .default(300)
      .describe('TTL of context written back to the cache'),
    CACHE_TIMEOUT_MS: env
      .ms(300)
      .describe(
        "budget of one cache call; a slower cache counts as a miss (above the sidecar's 250 ms, so the sidecar ends the call)",
      ),
    STORE_TIMEOUT_MS: env
      .ms(2000)
      .describe("budget of one source-of-truth call (above the sidecar's 3 × 500 ms attempts)"),
    CONTEXT_BUDGET_CHARS: z.coerce
      .number()
      .int()
      .positive()
      .default(8000)
      .describe('context longer than this is trimmed'),
    DEFAULT_MAX_TOKENS: z.coerce.number().int().min(1).max(4096).default(512),
    MODELS: modelsSchema
      .optional()
      .describe(
        'JSON array of the models served (see docs/configuration.md); unset: llama4 on Bedrock and gpt4 on Azure from the variables below',
      ),
    MODEL_PREFERENCE: z
      .string()
      .transform((s) => s.split(',').map((m) => m.trim()))
      .optional()
      .describe(
        'comma list naming each model once: answer with the first that succeeded; default gpt4,llama4, or the MODELS order',
      ),

    BEDROCK_REGION: z.string().default('us-east-1'),
    BEDROCK_MODEL_ID: z
      .string()
      .default('us.meta.llama4-maverick-17b-instruct-v1:0')
      .describe('model or inference-profile id'),
    BEDROCK_ENDPOINT: modelEndpoint
      .optional()
      .describe('override (the simulator; https, or http to loopback only); unset for real Bedrock'),

    AZURE_OPENAI_ENDPOINT: azureEndpoint
      .optional()
      .describe(
        'https://<resource>.openai.azure.com (or the simulator); required by Azure models without an endpoint of their own',
      ),
    AZURE_OPENAI_DEPLOYMENT: z.string().default('gpt-4'),
    AZURE_OPENAI_API_VERSION: z.string().default('2024-10-21'),
    AZURE_OPENAI_KEY_SECRET: z
      .string()
      .default('azure-openai-api-key')
      .describe('secret holding the Azure OpenAI key (of each Azure model without its own keySecret)'),

    MODEL_TIMEOUT_MS: env
      .ms(15_000)
      .describe('deadline of one model call (the breaker timeout); at most REQUEST_TIMEOUT_MS'),
    FUSE_AGREEMENT_THRESHOLD: z.coerce
      .number()
      .min(0)
      .max(1)
      .default(0.8)
      .describe(
        'strategy fuse: drafts whose word sets are at least this similar (Jaccard) agree, and no synthesis call is made',
      ),
    CHAT_AUTO_STRATEGY: z
      .enum(['primary', 'fastest', 'both', 'sequential', 'fuse'])
      .default('primary')
      .describe('what the chat model alias "auto" does over MODEL_PREFERENCE (streams need primary or fastest)'),
    STREAM_IDLE_TIMEOUT_MS: env
      .ms(10_000)
      .describe(
        'a stream with no token for this long (before its first or between two) is a timeout; before the first token the next model takes over',
      ),
    MODEL_MAX_IN_FLIGHT: z.coerce
      .number()
      .int()
      .positive()
      .default(64)
      .describe('bulkhead: calls to one model in flight beyond this are refused (503 when no model can answer)'),
    BREAKER_ERROR_THRESHOLD_PERCENT: z.coerce.number().min(1).max(100).default(50),
    BREAKER_RESET_TIMEOUT_MS: env.ms(30_000).describe('how long a breaker stays open before a trial call'),
    BREAKER_VOLUME_THRESHOLD: z.coerce
      .number()
      .int()
      .min(0)
      .default(5)
      .describe('calls in the window before the breaker may open'),
    BREAKER_ROLLING_WINDOW_MS: env
      .ms(40_000)
      .describe(
        'the window the breaker counts calls in; 0.9 × it must cover the longest call it judges (MODEL_TIMEOUT_MS, and a stream: REQUEST_TIMEOUT_MS)',
      ),
  }),
  (c) => [
    ...baseConfigIssues(c),
    ...modelIssues(c),
    // A model must get its whole deadline after the context lookup, or a hang would end as a neutral
    // "budget ran out" and never count against its breaker.
    // The answer-cache lookup (bounded by CACHE_TIMEOUT_MS too) comes before the models when the cache is on.
    ...(c.MODEL_TIMEOUT_MS + c.CACHE_TIMEOUT_MS * (c.ANSWER_CACHE_TTL_SECONDS > 0 ? 2 : 1) + c.STORE_TIMEOUT_MS >
    c.REQUEST_TIMEOUT_MS
      ? [
          {
            path: ['MODEL_TIMEOUT_MS'],
            message: `${c.MODEL_TIMEOUT_MS} ms plus CACHE_TIMEOUT_MS and STORE_TIMEOUT_MS exceeds REQUEST_TIMEOUT_MS (${c.REQUEST_TIMEOUT_MS} ms; CACHE_TIMEOUT_MS counts twice with the answer cache on)`,
          },
        ]
      : []),
    // Opossum counts a call's fire when it starts and its verdict when it ends: a verdict landing after
    // its fire left the window skews the error rate (up to failures without fires: one failure opens).
    // The fire's bucket leaves the window as early as 0.9 × the window after the call started (breaker-window.ts).
    ...(countedForMs(c.BREAKER_ROLLING_WINDOW_MS) < Math.max(c.MODEL_TIMEOUT_MS, c.REQUEST_TIMEOUT_MS)
      ? [
          {
            path: ['BREAKER_ROLLING_WINDOW_MS'],
            message: `${c.BREAKER_ROLLING_WINDOW_MS} ms counts a call for as little as ${countedForMs(c.BREAKER_ROLLING_WINDOW_MS)} ms (${BREAKER_WINDOW_BUCKETS - 1} of its ${BREAKER_WINDOW_BUCKETS} buckets), less than the longest call the breaker judges: a call runs up to MODEL_TIMEOUT_MS (${c.MODEL_TIMEOUT_MS} ms), a stream up to REQUEST_TIMEOUT_MS (${c.REQUEST_TIMEOUT_MS} ms); use at least ${windowFor(Math.max(c.MODEL_TIMEOUT_MS, c.REQUEST_TIMEOUT_MS))} ms`,
          },
        ]
      : []),
    // Likewise a stalled stream must be able to time out (and fall back) inside the request.
    ...(c.STREAM_IDLE_TIMEOUT_MS * 2 > c.REQUEST_TIMEOUT_MS
      ? [
          {
            path: ['STREAM_IDLE_TIMEOUT_MS'],
            message: `${c.STREAM_IDLE_TIMEOUT_MS} ms leaves no time in REQUEST_TIMEOUT_MS (${c.REQUEST_TIMEOUT_MS} ms) for a fallback after a stall`,
          },
        ]
      : []),
  ],
);

export type Config = z.infer<typeof configSchema>;
