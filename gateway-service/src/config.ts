import { env } from '@context-qa/common';
import { z } from 'zod';

/** Every setting of gateway-service, read from the environment once at start-up. */
export const configSchema = z.object({
  HOST: z.string().default('0.0.0.0').describe('interface the public API listens on'),
  PORT: env.port(8080).describe('public API port (behind the ALB ingress)'),
  METRICS_PORT: env.port(9464).describe('Prometheus /metrics port; never exposed by the ingress'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  BODY_LIMIT: z.string().default('64kb').describe('largest accepted request body'),
  SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).default(0).describe('wait after readiness turns false before closing the listener (set ~5000 on Kubernetes)'),

  DAPR_HOST: z.string().default('127.0.0.1').describe('own sidecar host'),
  DAPR_HTTP_PORT: env.port(3500).describe("own sidecar's HTTP API port"),
  DAPR_API_TOKEN: z.string().min(1).optional().describe('token the sidecar requires (dapr-api-token), when it has one'),

  AI_CORE_APP_ID: z.string().default('ai-core-service').describe('Dapr app id of ai-core-service'),
  AI_CORE_DIRECT_URL: z.url().optional().describe('benchmarks only: call ai-core at this URL without Dapr, to measure what the sidecars cost'),
  AI_CORE_TIMEOUT_MS: env.ms(30_000).describe('give up on ai-core after this long (504)'),
  SECRET_STORE: z.string().default('secrets').describe('Dapr secret store holding the API-key hashes'),
  API_KEYS_SECRET: z.string().default('gateway-api-keys').describe('secret whose value is the JSON list of {id, scope, sha256}'),
  API_KEYS_REFRESH_MS: env.ms(60_000).describe('how often the key list is re-read (rotation without restart)'),
});

export type Config = z.infer<typeof configSchema>;
