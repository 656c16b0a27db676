import { Counter, createMetrics, Gauge } from '@context-qa/common';
import type { ApiKeySource } from './adapters/api-key-source';

/** gateway's metrics: HTTP (shared), the health of the API-key list, rate-limit decisions, tokens per key. */
export function gatewayMetrics() {
  const { registry, httpMiddleware } = createMetrics('gateway-service');
  const skipped = new Counter({
    name: 'gateway_api_keys_skipped_total',
    help: 'Malformed API-key entries skipped, counted at every read of the key list',
    registers: [registry],
  });
  /** Computed at scrape time, so it keeps growing while refreshes fail. */
  const watchKeys = (keys: Pick<ApiKeySource, 'ageMs'>) =>
    new Gauge({
      name: 'gateway_api_keys_age_seconds',
      help: 'Seconds since the API-key list was last read successfully (NaN before the first read)',
      registers: [registry],
      collect() {
        const age = keys.ageMs;
        this.set(age === undefined ? Number.NaN : age / 1000);
      },
    });
  const decisions = new Counter({
    name: 'gateway_rate_limit_decisions_total',
    help: 'Rate-limit decisions: admitted, refused (by reason), or admitted because the counter store failed (fail open)',
    labelNames: ['decision', 'reason'] as const,
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
    rateLimit: (decision: 'admitted' | 'refused' | 'store_error', reason = '') => decisions.inc({ decision, reason }),
    tokens: (keyId: string, model: string, type: 'input' | 'output', n: number) => tokens.inc({ key_id: keyId, model, gen_ai_token_type: type }, n),
  };
}
