/** Wires config to adapters and HTTP; start() returns the bound ports and a stop(). */
import { createDaprClient, daprSecret, Readiness, serveApp, sidecarReady, type Logger } from '@context-qa/common';
import { daprInvoker } from './adapters/ai-core-invoker';
import { daprCounters } from './adapters/dapr-counters';
import { ApiKeySource } from './adapters/api-key-source';
import { createApp } from './app';
import { admission } from './entry-points/admission';
import type { Config } from './config';
import { RateLimiter } from './domain/rate-limiter';
import type { LimitDeps } from './entry-points/limits';
import { gatewayMetrics } from './metrics';

export async function start(config: Config, logger: Logger) {
  const dapr = createDaprClient(config);
  const secret = daprSecret(dapr, config.SECRET_STORE, 2000);
  const metrics = gatewayMetrics();
  const keys = new ApiKeySource(() => secret(config.API_KEYS_SECRET), logger, {
    maxStalenessMs: config.API_KEYS_MAX_STALENESS_MS,
    onSkipped: metrics.onSkippedKeys,
  });
  metrics.watchKeys(keys);
  keys.start(config.API_KEYS_REFRESH_MS);
  // ai-core being down is answered per request (503), never by readiness:
  // a downstream outage must not empty the load balancer.
  const readiness = new Readiness({ sidecar: () => sidecarReady(config), apiKeys: () => Promise.resolve(keys.fresh) });
  const counters = daprCounters(config, config.RATE_LIMIT_STORE, config.RATE_LIMIT_TIMEOUT_MS);
  const limiter = new RateLimiter(counters, {
    failClosed: config.RATE_LIMIT_FAIL_CLOSED,
    inFlightTtlSeconds: Math.ceil((config.REQUEST_TIMEOUT_MS * 2) / 1000),
    onStoreError: (err) => {
      metrics.rateLimit('store_error');
      logger.warn({ err }, 'rate-limit store failed: request admitted (RATE_LIMIT_FAIL_CLOSED=false)');
    },
  });
  const limits: LimitDeps = {
    limiter,
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
    aiCore: daprInvoker(config),
    // One admission count per replica, shared by both listeners.
    admit: admission({
      maxInFlight: config.MAX_IN_FLIGHT,
      maxLagMs: config.MAX_EVENT_LOOP_DELAY_MS,
      onRefused: (why) => metrics.rateLimit('refused', why === 'in_flight' ? 'overloaded' : 'overloaded_event_loop'),
    }),
    apiKeys: () => keys.list(),
  };
  // With ADMIN_PORT the context routes live only on that (internal) listener.
  const app = createApp({ ...deps, surface: config.ADMIN_PORT ? 'public' : 'all' });
  const admin = config.ADMIN_PORT ? { app: createApp({ ...deps, surface: 'admin' }), port: config.ADMIN_PORT } : undefined;
  return serveApp(app, {
    config,
    ...(admin ? { extra: admin } : {}),
    registry: metrics.registry,
    readiness,
    cleanup: async () => {
      keys.stop();
      await dapr.stop();
    },
  });
}
