/**
 * The gateway's Prometheus registry and the callbacks server.ts wires into its parts: API-key list health,
 * rate-limit decisions and lost updates, and tokens per key.
 */
import { Counter, createMetrics, Gauge } from '@context-qa/common/telemetry';
import type { ApiKeySource } from './adapters/api-key-source';
import type { StoreFailure } from './domain/rate-limiter';

/** gateway's metrics: HTTP (shared), the health of the API-key list, rate-limit decisions, tokens per key. */
export function gatewayMetrics() {
  const { registry, httpMiddleware } = createMetrics('gateway-service');
  const skipped = new Counter({
    name: 'gateway_api_keys_skipped_total',
    help: 'Malformed API-key entries skipped, counted at every read of the key list',
    registers: [registry],
  });
  /** Computed at scrape time, so it keeps growing while refreshes fail (or none has succeeded yet). */
  const watchKeys = (keys: Pick<ApiKeySource, 'unreadForMs'>) =>
    new Gauge({
      name: 'gateway_api_keys_age_seconds',
      help: 'Seconds since the API-key list was last read successfully (before the first good read: since the gateway started)',
      registers: [registry],
      collect() {
        this.set(keys.unreadForMs / 1000);
      },
    });
  const decisions = new Counter({
    name: 'gateway_rate_limit_decisions_total',
    help: 'Rate-limit decisions: admitted, refused (by reason), or store_error: made without the shared store (reason fallback: by the per-replica record, also counted as admitted or refused; reason fail_closed: answered 503 limits_unavailable)',
    labelNames: ['decision', 'reason'] as const,
    registers: [registry],
  });
  // Not decisions: a lost update costs no request its answer, so it stays out of the decision ratio.
  const lostUpdates = new Counter({
    name: 'gateway_rate_limit_lost_updates_total',
    help: 'Updates of admitted requests the rate-limit store did not take, by operation: release, renew (the lease then expires on its own) or charge (the reservation stands)',
    labelNames: ['operation'] as const,
    registers: [registry],
  });
  // Per key, what ai-core's gen_ai_client_token_usage histogram is per model call; not named after it:
  // one name for two metric types (a counter here) would confuse queries and Prometheus' metadata.
  const tokens = new Counter({
    name: 'gateway_key_tokens_total',
    help: 'Tokens the models reported for answers to an API key, by key id, model (catalogue name) and gen_ai_token_type (input, output)',
    labelNames: ['key_id', 'model', 'gen_ai_token_type'] as const,
    registers: [registry],
  });
  return {
    registry,
    httpMiddleware,
    onSkippedKeys: (n: number) => skipped.inc(n),
    watchKeys,
    rateLimit: (decision: 'admitted' | 'refused', reason = '') => decisions.inc({ decision, reason }),
    rateLimitStoreError: (failure: StoreFailure) =>
      failure === 'fallback' || failure === 'fail_closed'
        ? decisions.inc({ decision: 'store_error', reason: failure })
        : lostUpdates.inc({ operation: failure }),
    tokens: (keyId: string, model: string, type: 'input' | 'output', n: number) =>
      tokens.inc({ key_id: keyId, model, gen_ai_token_type: type }, n),
  };
}
