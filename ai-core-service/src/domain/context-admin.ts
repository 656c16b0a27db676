import type { TextStore } from './ports';

export type CacheSync = 'refreshed' | 'invalidated' | 'failed';

/**
 * Operator writes: the source of truth first (durable), then the cache copy is
 * refreshed on put and invalidated on delete, so readers never see old text
 * for longer than a failed cache call allows.
 */
export function contextAdmin(deps: { cache: TextStore; store: TextStore; cacheTtlSeconds: number }) {
  const { cache, store, cacheTtlSeconds } = deps;
  const invalidate = (key: string): Promise<CacheSync> => cache.delete(key).then(() => 'invalidated' as const, () => 'failed' as const);
  return {
    get: (key: string) => store.get(key),
    async put(key: string, text: string, ttlSeconds?: number): Promise<CacheSync> {
      await store.set(key, text, ttlSeconds);
      const ttl = Math.min(ttlSeconds ?? cacheTtlSeconds, cacheTtlSeconds);
      return cache.set(key, text, ttl).then(() => 'refreshed' as const, () => invalidate(key));
    },
    async delete(key: string): Promise<CacheSync> {
      await store.delete(key);
      return invalidate(key);
    },
  };
}

export type ContextAdmin = ReturnType<typeof contextAdmin>;
