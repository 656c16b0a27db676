import { env } from '@context-qa/common';
import { z } from 'zod';

/** Every setting of gateway-service, read from the environment once at start-up. */
export const configSchema = z.object({
  HOST: z.string().default('0.0.0.0').describe('interface the public API listens on'),
  PORT: env.port(8080).describe('public API port (behind the ALB ingress)'),
  METRICS_PORT: env.port(9464).describe('Prometheus /metrics port; never exposed by the ingress'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  DAPR_HOST: z.string().default('127.0.0.1').describe('own sidecar host'),
  DAPR_HTTP_PORT: env.port(3500).describe("own sidecar's HTTP API port"),
  DAPR_API_TOKEN: z.string().optional().describe('token the sidecar requires (dapr-api-token), when it has one'),
});

export type Config = z.infer<typeof configSchema>;
