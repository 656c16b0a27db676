/**
 * gateway-service's settings: the environment schema (listeners, load shedding, API keys, rate limits) and
 * the checks that refuse unsafe or inconsistent combinations at start-up.
 */
import { baseConfig, baseConfigIssues, env, withChecks } from '@context-qa/common/config';
import { z } from 'zod';

/** Every setting of gateway-service, read from the environment once at start-up. */
export const configSchema = withChecks(
  z.object({
    ...baseConfig({ port: 8080, metricsPort: 9464 }),
    ADMIN_PORT: z.coerce
      .number()
      .int()
      .min(1)
      .max(65535)
      .optional()
      .describe('when set, the admin context routes are served only on this port (an internal listener), not on PORT'),
    BODY_LIMIT: z.string().default('64kb').describe('largest accepted request body'),
    MAX_IN_FLIGHT: z.coerce
      .number()
      .int()
      .min(0)
      .default(256)
      .describe(
        'answer requests in flight on this replica beyond which new ones are refused at once (503 overloaded); size it to capacity × an acceptable wait; 0: no limit',
      ),
    MAX_EVENT_LOOP_DELAY_MS: z.coerce
      .number()
      .int()
      .min(0)
      .default(0)
      .describe(
        'event-loop delay (ms, exponentially smoothed, ~60 ms time constant) beyond which new answer requests are refused (503 overloaded) while answers are under way: the replica is short of CPU; 0: not watched',
      ),
    AI_CORE_APP_ID: z.string().default('ai-core-service').describe('Dapr app id of ai-core-service'),
    SECRET_STORE: z.string().default('secrets').describe('Dapr secret store holding the API-key hashes'),
    API_KEYS_SECRET: z
      .string()
      .default('gateway-api-keys')
      .describe(
        'secret whose value is the JSON list of key entries {id, scope, sha256, …} (docs/tenants-and-limits.md "Tenants")',
      ),
    LOCAL_DEV: env
      .bool(false)
      .describe(
        'true only on a developer machine (make dev and the test stacks set it): accepts the published dev keys; elsewhere their entries are skipped',
      ),
    API_KEYS_REFRESH_MS: env.ms(60_000).describe('how often the key list is re-read (rotation without restart)'),
    RATE_LIMIT_STORE: z
      .string()
      .default('rate-limits')
      .describe('Dapr state store holding the per-key counters, shared by all replicas'),
    RATE_LIMIT_TIMEOUT_MS: env.ms(300).describe('budget of one counter call to the store'),
    RATE_LIMIT_FAIL_CLOSED: env
      .bool(false)
      .describe(
        'when the limit store is unreachable: false decides with a per-replica limiter (RATE_LIMIT_FALLBACK_REPLICAS; counted, logged), true answers 503',
      ),
    RATE_LIMIT_FALLBACK_REPLICAS: z.coerce
      .number()
      .int()
      .min(1)
      .default(2)
      .describe(
        'replicas assumed to share a key while the limit store is unreachable: each replica then allows its limits divided by this',
      ),
    RATE_LIMIT_LEASE_SECONDS: z.coerce
      .number()
      .int()
      .min(1)
      .default(10)
      .describe(
        'an in-flight slot expires this long after its last renewal (renewed every third of it while the request runs): a lost release frees itself',
      ),
    RATE_LIMIT_DEFAULT_RPM: z.coerce
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('requests per minute for keys without their own limit; 0: none'),
    RATE_LIMIT_DEFAULT_TPM: z.coerce
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('tokens (input + output) per minute; 0: none'),
    RATE_LIMIT_DEFAULT_TPD: z.coerce.number().int().min(0).default(0).describe('tokens per UTC day; 0: none'),
    RATE_LIMIT_DEFAULT_MAX_IN_FLIGHT: z.coerce
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('requests in flight per key; 0: none'),
    RATE_LIMIT_ASSUMED_MAX_TOKENS: z.coerce
      .number()
      .int()
      .min(1)
      .max(4096)
      .default(512)
      .describe(
        "output tokens a request without its own maximum is assumed to cost before it runs (ai-core's DEFAULT_MAX_TOKENS)",
      ),
    RATE_LIMIT_ASSUMED_MAX_CALLS: z.coerce
      .number()
      .int()
      .min(1)
      .default(3)
      .describe(
        "model calls a request is assumed to make until ai-core's table (max_calls in its model list) has been read, or for a model it does not list",
      ),
    RATE_LIMIT_ASSUMED_CONTEXT_TOKENS: z.coerce
      .number()
      .int()
      .min(0)
      .default(2000)
      .describe("context tokens a request is assumed to carry before it runs (ai-core's CONTEXT_BUDGET_CHARS / 4)"),
    API_KEYS_MAX_STALENESS_MS: env
      .ms(600_000)
      .describe('readiness turns false when the key list could not be re-read for this long'),
  }),
  (c) => [
    ...baseConfigIssues(c),
    // Else a healthy gateway would go unready between two refreshes.
    ...(c.API_KEYS_MAX_STALENESS_MS > c.API_KEYS_REFRESH_MS
      ? []
      : [
          {
            path: ['API_KEYS_MAX_STALENESS_MS'],
            message: `${c.API_KEYS_MAX_STALENESS_MS} ms must be greater than API_KEYS_REFRESH_MS (${c.API_KEYS_REFRESH_MS} ms)`,
          },
        ]),
  ],
);

export type Config = z.infer<typeof configSchema>;
