/**
 * Rate-limit counters in a Dapr state store (`rate-limits`), incremented by
 * compare-and-set so that every gateway replica's increments count exactly:
 * read the value and its ETag, write value + delta with that ETag
 * (first-write concurrency), and on a conflict read again. Dapr's state API
 * has no atomic increment; this is the building block every state store
 * supports (Redis, the in-memory store, DynamoDB…), so the backend stays a
 * component YAML away. state.redis refuses a losing create-only write with a
 * 500, not a 409: a failed create is a conflict when the key exists now.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DeadlineExceeded, stateApi, type SidecarConfig } from '@context-qa/common';
import { CounterBusy, type CounterStore } from '../domain/rate-limiter';

/**
 * How long one increment may keep losing to others before it counts as a store
 * failure (handled by fail-open/closed). A burst of N requests on one key needs
 * about N rounds of read + write; the jittered pauses keep them from colliding again.
 */
const CAS_BUDGET_MS = 2000;

const numberOf = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

export function daprCounters(sidecar: SidecarConfig, storeName: string, timeoutMs: number): CounterStore & { conflicts: () => number } {
  const api = stateApi(sidecar, storeName, timeoutMs);
  let conflicts = 0;
  return {
    conflicts: () => conflicts,
    async get(key) {
      return numberOf((await api.get(key))?.value);
    },
    add: (key, delta, ttlSeconds) => update(key, delta, Number.POSITIVE_INFINITY, ttlSeconds).then((r) => r.value),
    take: (key, amount, limit, ttlSeconds) => update(key, amount, limit, ttlSeconds),
  };

  /** value + delta, written only if it stays within `limit`; a refusal writes nothing. */
  async function update(key: string, delta: number, limit: number, ttlSeconds: number): Promise<{ ok: boolean; value: number }> {
    const giveUpAt = Date.now() + CAS_BUDGET_MS;
    for (let attempt = 1; Date.now() < giveUpAt; attempt++) {
      const got = await api.get(key);
      const current = numberOf(got?.value);
      const next = Math.max(0, current + delta);
      if (next > limit) return { ok: false, value: current };
      let written: boolean;
      try {
        written = await api.save(key, next, { ttlSeconds, firstWrite: true, ...(got?.etag ? { etag: got.etag } : {}) });
      } catch (err) {
        if (got?.etag || err instanceof DeadlineExceeded || !(await api.get(key).catch(() => undefined))) throw err;
        written = false; // a create that lost to another replica's create
      }
      if (written) return { ok: true, value: next };
      conflicts++;
      await sleep(Math.random() * 3 * Math.min(attempt, 8)); // spread the retries of a burst
    }
    throw new CounterBusy(`${storeName}: writes to one counter kept conflicting for ${CAS_BUDGET_MS} ms`);
  }
}
