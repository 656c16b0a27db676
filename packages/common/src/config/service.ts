/**
 * Env settings every service shares (listeners, logging, timeouts, shutdown, own Dapr sidecar), plus
 * start-up checks that refuse limits which contradict each other.
 */
import { z } from 'zod';
import { env } from './load';

/** Settings every service has: listeners, logging, body size, shutdown, own sidecar. */
export function baseConfig(ports: { port: number; metricsPort: number }) {
  return {
    HOST: z.string().default('0.0.0.0').describe('interface the API listens on'),
    PORT: env.port(ports.port).describe('API port'),
    METRICS_PORT: env.port(ports.metricsPort).describe('Prometheus /metrics port; never exposed by the ingress'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    SHUTDOWN_DELAY_MS: z.coerce
      .number()
      .int()
      .min(0)
      .default(0)
      .describe(
        'wait after readiness turns false before closing the listener (on Kubernetes ~5000, or longer for an app its sidecar forwards to: k8s/base/ai-core.yaml)',
      ),
    REQUEST_TIMEOUT_MS: env
      .ms(30_000)
      .describe(
        "the most one request may take, end to end; a caller's smaller remaining budget (x-request-timeout-ms) wins",
      ),
    SHUTDOWN_GRACE_MS: env
      .ms(30_000)
      .describe('how long in-flight requests may finish at shutdown; at least REQUEST_TIMEOUT_MS'),
    SERVER_HEADERS_TIMEOUT_MS: env.ms(10_000).describe('a client must send its request headers within this'),
    SERVER_BODY_TIMEOUT_MS: env
      .ms(15_000)
      .describe('a client must send its whole request (headers and body) within this'),
    SERVER_MAX_CONNECTIONS: z.coerce
      .number()
      .int()
      .positive()
      .default(1024)
      .describe('open connections beyond this are refused'),
    DAPR_HOST: z.string().default('127.0.0.1').describe('own sidecar host'),
    DAPR_HTTP_PORT: env.port(3500).describe("own sidecar's HTTP API port"),
    DAPR_API_TOKEN: z
      .string()
      .min(1)
      .optional()
      .describe('token our sidecar requires (dapr-api-token), when it has one'),
  };
}

export type BaseConfig = z.infer<z.ZodObject<ReturnType<typeof baseConfig>>>;

type Issue = { path: string[]; message: string };

/**
 * Limits that would contradict each other are refused at start, naming the
 * variables: a shutdown must be able to finish one request, and Node needs the
 * headers before the whole request.
 */
export function baseConfigIssues(c: BaseConfig): Issue[] {
  const issues: Issue[] = [];
  if (c.SHUTDOWN_GRACE_MS < c.REQUEST_TIMEOUT_MS) {
    issues.push({
      path: ['SHUTDOWN_GRACE_MS'],
      message: `${c.SHUTDOWN_GRACE_MS} ms is shorter than REQUEST_TIMEOUT_MS (${c.REQUEST_TIMEOUT_MS} ms): a shutdown would cut requests off`,
    });
  }
  if (c.SERVER_HEADERS_TIMEOUT_MS > c.SERVER_BODY_TIMEOUT_MS) {
    issues.push({
      path: ['SERVER_HEADERS_TIMEOUT_MS'],
      message: `must not exceed SERVER_BODY_TIMEOUT_MS (${c.SERVER_BODY_TIMEOUT_MS} ms)`,
    });
  }
  return issues;
}

/** Adds cross-variable checks to a config schema (each issue names its variables). */
export function withChecks<S extends z.ZodObject>(schema: S, checks: (c: z.infer<S>) => Issue[]): S {
  return schema.superRefine((c, ctx) => {
    for (const i of checks(c)) ctx.addIssue({ code: 'custom', path: i.path, message: i.message });
  });
}
