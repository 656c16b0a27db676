import { Counter, createMetrics, Gauge } from '@context-qa/common';
import type { ApiKeySource } from './adapters/api-key-source';

/** gateway's metrics: HTTP (shared) and the health of the API-key list. */
export function gatewayMetrics() {
  const { registry, httpMiddleware } = createMetrics('gateway-service');
  const skipped = new Counter({
    name: 'gateway_api_keys_skipped_total',
    help: 'Malformed API-key entries skipped, counted at every read of the key list',
    registers: [registry],
  });
  /** Computed at scrape time, so it keeps growing while refreshes fail. */
  const watchKeys = (keys: ApiKeySource) =>
    new Gauge({
      name: 'gateway_api_keys_age_seconds',
      help: 'Seconds since the API-key list was last read successfully (NaN before the first read)',
      registers: [registry],
      collect() {
        const age = keys.ageMs;
        this.set(age === undefined ? Number.NaN : age / 1000);
      },
    });
  return { registry, httpMiddleware, onSkippedKeys: (n: number) => skipped.inc(n), watchKeys };
}
