import { logged, syncCache, type CacheSync, type CacheSyncDeps } from './cache-sync';

export type { CacheSync };

/**
 * Operator writes: the source of truth first (durable), then the cache is made
 * to hold what the store now holds (refreshed, or a tombstone on delete) by
 * compare-and-set, so a concurrent write-back or PUT cannot leave old text there.
 */
export function contextAdmin(deps: CacheSyncDeps) {
  const { store, logger } = deps;
  return {
    get: async (key: string) => (await logged(logger, store, 'get', key, () => store.get(key)))?.text,
    async put(key: string, text: string, ttlSeconds?: number): Promise<CacheSync> {
      await logged(logger, store, 'set', key, () => store.set(key, text, ttlSeconds));
      return syncCache(deps, key);
    },
    async delete(key: string): Promise<CacheSync> {
      await logged(logger, store, 'delete', key, () => store.delete(key));
      return syncCache(deps, key);
    },
  };
}

export type ContextAdmin = ReturnType<typeof contextAdmin>;
