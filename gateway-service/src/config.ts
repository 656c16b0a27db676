import { baseConfig, env } from '@context-qa/common';
import { z } from 'zod';

/** Every setting of gateway-service, read from the environment once at start-up. */
export const configSchema = z.object({
  ...baseConfig({ port: 8080, metricsPort: 9464 }),
  BODY_LIMIT: z.string().default('64kb').describe('largest accepted request body'),
  AI_CORE_APP_ID: z.string().default('ai-core-service').describe('Dapr app id of ai-core-service'),
  AI_CORE_DIRECT_URL: z.url().optional().describe('benchmarks only: call ai-core at this URL without Dapr, to measure what the sidecars cost'),
  AI_CORE_TIMEOUT_MS: env.ms(30_000).describe('give up on ai-core after this long (504)'),
  SECRET_STORE: z.string().default('secrets').describe('Dapr secret store holding the API-key hashes'),
  API_KEYS_SECRET: z.string().default('gateway-api-keys').describe('secret whose value is the JSON list of {id, scope, sha256}'),
  API_KEYS_REFRESH_MS: env.ms(60_000).describe('how often the key list is re-read (rotation without restart)'),
});

export type Config = z.infer<typeof configSchema>;
