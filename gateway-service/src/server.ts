/** Wires config to adapters and HTTP; start() returns the bound ports and a stop(). */
import { createDaprClient, daprSecret, sidecarReady } from '@context-qa/common/dapr';
import { Readiness, serveApp } from '@context-qa/common/http';
import type { Logger } from '@context-qa/common/telemetry';
import { daprInvoker } from './adapters/ai-core-invoker';
import { CallTable } from './adapters/call-table';
import { daprLimitRecords } from './adapters/dapr-limit-records';
import { casRecords, memoryKv } from './adapters/limit-records-cas';
import { ApiKeySource } from './adapters/api-key-source';
import { createApp } from './app';
import { admission } from './entry-points/admission';
import { keyConcurrency } from './entry-points/key-concurrency';
import type { Config } from './config';
import { RateLimiter } from './domain/rate-limiter';
import { DEV_KEY_HASHES } from './domain/api-keys';
import type { LimitDeps } from './entry-points/limits';
import { gatewayMetrics } from './metrics';
import type { TestHooks } from './test-hooks';

export async function start(config: Config, logger: Logger, hooks: TestHooks = {}) {
  const dapr = createDaprClient(config);
  const secret = daprSecret(dapr, config.SECRET_STORE, 2000);
  const metrics = gatewayMetrics();
  const keys = new ApiKeySource(() => secret(config.API_KEYS_SECRET), logger, {
    maxStalenessMs: config.API_KEYS_MAX_STALENESS_MS,
    onSkipped: metrics.onSkippedKeys,
    ...(config.LOCAL_DEV ? {} : { refusedHashes: DEV_KEY_HASHES }),
  });
  metrics.watchKeys(keys);
  keys.start(config.API_KEYS_REFRESH_MS);
  // ai-core being down is answered per request (503), never by readiness:
  // a downstream outage must not empty the load balancer.
  const readiness = new Readiness({ sidecar: () => sidecarReady(config), apiKeys: () => Promise.resolve(keys.fresh) });
  const meanwhile = config.RATE_LIMIT_FAIL_CLOSED
    ? 'limited requests get 503 limits_unavailable'
    : 'this replica decides alone (per-replica share of each limit)';
  const warnStoreError = atMostEvery(STORE_WARN_EVERY_MS, (err: unknown, since: number) =>
    logger.warn({ err, failuresSinceLastWarning: since }, `rate-limit store failed: ${meanwhile} meanwhile`),
  );
  const limiter = new RateLimiter(daprLimitRecords(config, config.RATE_LIMIT_STORE, config.RATE_LIMIT_TIMEOUT_MS), {
    failClosed: config.RATE_LIMIT_FAIL_CLOSED,
    leaseSeconds: config.RATE_LIMIT_LEASE_SECONDS,
    fallback: casRecords(memoryKv(), 'per-replica limits'),
    fallbackReplicas: config.RATE_LIMIT_FALLBACK_REPLICAS,
    onStoreError: (err, failure) => {
      metrics.rateLimitStoreError(failure);
      warnStoreError(err);
    },
  });
  const aiCore = daprInvoker({ ...config, AI_CORE_DIRECT_URL: hooks.aiCoreDirectUrl });
  // What each model, alias and strategy can cost in calls: ai-core's own table, re-read like the keys.
  const callTable = new CallTable(aiCore, config.RATE_LIMIT_ASSUMED_MAX_CALLS, logger);
  callTable.start(config.API_KEYS_REFRESH_MS);
  const limits: LimitDeps = {
    limiter,
    maxCalls: callTable.maxCalls,
    defaults: {
      requestsPerMinute: config.RATE_LIMIT_DEFAULT_RPM,
      tokensPerMinute: config.RATE_LIMIT_DEFAULT_TPM,
      tokensPerDay: config.RATE_LIMIT_DEFAULT_TPD,
      maxInFlight: config.RATE_LIMIT_DEFAULT_MAX_IN_FLIGHT,
    },
    assumedMaxTokens: config.RATE_LIMIT_ASSUMED_MAX_TOKENS,
    assumedContextTokens: config.RATE_LIMIT_ASSUMED_CONTEXT_TOKENS,
    onDecision: (decision, reason) => metrics.rateLimit(decision, reason),
    onTokens: metrics.tokens,
  };
  const deps = {
    limits,
    logger,
    readiness,
    bodyLimit: config.BODY_LIMIT,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    httpMiddleware: metrics.httpMiddleware,
    aiCore,
    // One admission count per replica, shared by both listeners.
    // One count per key per replica, shared by both listeners, like admission.
    perKey: keyConcurrency(limits),
    admit: admission({
      maxInFlight: config.MAX_IN_FLIGHT,
      maxLagMs: config.MAX_EVENT_LOOP_DELAY_MS,
      onRefused: (why) => metrics.rateLimit('refused', why === 'in_flight' ? 'overloaded' : 'overloaded_event_loop'),
    }),
    apiKeys: () => keys.list(),
  };
  // With ADMIN_PORT the context routes live only on that (internal) listener.
  const app = createApp({ ...deps, surface: config.ADMIN_PORT ? 'public' : 'all' });
  const admin = config.ADMIN_PORT
    ? { app: createApp({ ...deps, surface: 'admin' }), port: config.ADMIN_PORT }
    : undefined;
  return serveApp(app, {
    config,
    ...(admin ? { extra: admin } : {}),
    registry: metrics.registry,
    readiness,
    cleanup: async () => {
      keys.stop();
      callTable.stop();
      await dapr.stop();
    },
  });
}

/** An outage fails every request: one warn line per this period, with the count since the last one. */
const STORE_WARN_EVERY_MS = 10_000;

function atMostEvery(ms: number, log: (err: unknown, since: number) => void): (err: unknown) => void {
  let last = Number.NEGATIVE_INFINITY;
  let since = 0;
  return (err) => {
    since++;
    if (Date.now() - last < ms) return;
    last = Date.now();
    log(err, since);
    since = 0;
  };
}
