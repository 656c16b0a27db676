import { env } from '@context-qa/common';
import { z } from 'zod';

/** Every setting of ai-core-service, read from the environment once at start-up. */
export const configSchema = z.object({
  HOST: z.string().default('0.0.0.0').describe('interface the internal API listens on'),
  PORT: env.port(8081).describe('internal API port (reached only through its sidecar)'),
  METRICS_PORT: env.port(9465).describe('Prometheus /metrics port; never exposed by the ingress'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  DAPR_HOST: z.string().default('127.0.0.1').describe('own sidecar host'),
  DAPR_HTTP_PORT: env.port(3500).describe("own sidecar's HTTP API port"),
  DAPR_API_TOKEN: z.string().optional().describe('token the sidecar requires (dapr-api-token), when it has one'),
});

export type Config = z.infer<typeof configSchema>;
