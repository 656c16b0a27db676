/**
 * Rate-limit counters in a Dapr state store (`rate-limits`), updated by
 * compare-and-set so that every gateway replica's updates count exactly: read
 * the value and its ETag, write the new value with that ETag (first-write
 * concurrency), and on a conflict read again. Dapr's state API has no atomic
 * increment; this is the building block every state store supports (Redis,
 * the in-memory store, DynamoDB…), so the backend stays a component YAML away.
 * state.redis refuses a losing create-only write with a 500, not a 409: a
 * failed create is a conflict when the key exists now.
 *
 * Within one replica, the updates waiting on one counter go as one batch: one
 * read, a decision for each in arrival order, one write. A hot key (a burst
 * from one caller, which is what limits are for) then costs one
 * compare-and-set per round instead of one per request, and conflicts come
 * only from other replicas.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DeadlineExceeded, stateApi, type SidecarConfig } from '@context-qa/common';
import { CounterBusy, type CounterStore } from '../domain/rate-limiter';

/** How long one batch may keep losing to other replicas before its updates are refused as busy. */
const CAS_BUDGET_MS = 2000;

type Result = { ok: boolean; value: number };

interface Update {
  delta: number;
  limit: number;
  ttlSeconds: number;
  resolve(r: Result): void;
  reject(err: unknown): void;
}

const numberOf = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

export function daprCounters(sidecar: SidecarConfig, storeName: string, timeoutMs: number): CounterStore & { conflicts: () => number } {
  const api = stateApi(sidecar, storeName, timeoutMs);
  const waiting = new Map<string, Update[]>();
  let conflicts = 0;

  /** Queues one update; the first one for a key starts draining its queue. */
  const update = (key: string, delta: number, limit: number, ttlSeconds: number) =>
    new Promise<Result>((resolve, reject) => {
      const queue = waiting.get(key);
      const u = { delta, limit, ttlSeconds, resolve, reject };
      if (queue) return void queue.push(u);
      waiting.set(key, [u]);
      void drain(key);
    });

  async function drain(key: string): Promise<void> {
    for (let batch = waiting.get(key)!; batch.length > 0; batch = waiting.get(key)!) {
      waiting.set(key, []); // later arrivals form the next batch
      await apply(key, batch).catch((err) => batch.forEach((u) => u.reject(err)));
    }
    waiting.delete(key);
  }

  /** One compare-and-set for the whole batch; each update is decided in order against the value it would see. */
  async function apply(key: string, batch: Update[]): Promise<void> {
    const giveUpAt = Date.now() + CAS_BUDGET_MS;
    for (let attempt = 1; Date.now() < giveUpAt; attempt++) {
      const got = await api.get(key);
      let value = numberOf(got?.value);
      const results = batch.map((u): Result => {
        const next = Math.max(0, value + u.delta);
        if (next > u.limit) return { ok: false, value };
        value = next;
        return { ok: true, value };
      });
      if (!results.some((r) => r.ok)) return batch.forEach((u, i) => u.resolve(results[i]!)); // nothing to write
      let written: boolean;
      try {
        const ttlSeconds = Math.max(...batch.map((u) => u.ttlSeconds));
        written = await api.save(key, value, { ttlSeconds, firstWrite: true, ...(got?.etag ? { etag: got.etag } : {}) });
      } catch (err) {
        if (got?.etag || err instanceof DeadlineExceeded || !(await api.get(key).catch(() => undefined))) throw err;
        written = false; // a create that lost to another replica's create
      }
      if (written) return batch.forEach((u, i) => u.resolve(results[i]!));
      conflicts++;
      await sleep(Math.random() * 3 * Math.min(attempt, 8)); // spread the replicas' retries
    }
    throw new CounterBusy(`${storeName}: writes to one counter kept conflicting for ${CAS_BUDGET_MS} ms`);
  }

  return {
    conflicts: () => conflicts,
    async get(key) {
      return numberOf((await api.get(key))?.value);
    },
    add: (key, delta, ttlSeconds) => update(key, delta, Number.POSITIVE_INFINITY, ttlSeconds).then((r) => r.value),
    take: (key, amount, limit, ttlSeconds) => update(key, amount, limit, ttlSeconds),
  };
}
