/**
 * The context stores through the sidecar's HTTP state API (common/state-api.ts).
 * Values are JSON `{text}` (a bare JSON string, as an ingestion job may write,
 * is read as the text); a cache tombstone is `{deleted: true}`. No timestamp:
 * ordering comes from etags, never from clocks of different replicas.
 */
import { type SidecarConfig, stateApi } from '@context-qa/common/dapr';
import type { CacheEntry, ContextCache, StoredText, TextStore } from '../domain/ports';

function storedText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  const text = (value as { text?: unknown } | null)?.text;
  return typeof text === 'string' ? text : undefined;
}

/** The source of truth. Reads are strongly consistent: a refresh must see the write it follows. */
export function daprTextStore(sidecar: SidecarConfig, storeName: string, timeoutMs: number): TextStore {
  const api = stateApi(sidecar, storeName, timeoutMs);
  return {
    name: storeName,
    async get(key, signal): Promise<StoredText | undefined> {
      const got = await api.get(key, 'strong', signal);
      const text = got && storedText(got.value);
      if (text === undefined) return undefined;
      return { text, ...(got?.expiresAt !== undefined ? { expiresAt: got.expiresAt } : {}) };
    },
    async set(key, text, ttlSeconds) {
      await api.save(key, { text }, { ttlSeconds }); // last write wins: the store is the order
    },
    delete: (key) => api.delete(key),
  };
}

/**
 * The cache. Every write is first-write concurrency with the etag that was
 * read, so it lands only on the version it saw. What state.redis (components-
 * contrib v1.18.4, setDefaultQuery) does with that: the etag is the hash's
 * `version` counter; a first-write write marks the key, and a marked key then
 * accepts a write only with its current etag (a 409 otherwise), while an
 * absent key accepts any write. A create-only write (no etag) that loses is
 * a conflict too: the state client (stateApi) tells it from a failure.
 */
export function daprContextCache(sidecar: SidecarConfig, storeName: string, timeoutMs: number): ContextCache {
  const api = stateApi(sidecar, storeName, timeoutMs);
  return {
    name: storeName,
    async read(key, signal): Promise<CacheEntry> {
      const got = await api.get(key, undefined, signal);
      if (!got?.etag) return { kind: 'absent' }; // no versioned value (a plain Redis string is replaced on write)
      const text = storedText(got.value);
      return text === undefined ? { kind: 'tombstone', etag: got.etag } : { kind: 'text', text, etag: got.etag };
    },
    async write(key, seen, text, ttlSeconds) {
      const value = text === undefined ? { deleted: true } : { text };
      const etag = seen.kind === 'absent' ? undefined : seen.etag;
      return (await api.save(key, value, { ttlSeconds, firstWrite: true, etag })) ? 'written' : 'conflict';
    },
  };
}
