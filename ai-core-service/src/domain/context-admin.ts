/**
 * Context administration behind ai-core's admin routes: one tenant's get, put and delete on the source of
 * truth, each write followed by bringing the cache in line with the store (cache-sync.ts).
 */
import { type Tenant, tenantStoreKey } from '@context-qa/common/contract';
import { logged, syncCache, type CacheSync, type CacheSyncDeps } from './cache-sync';

export type { CacheSync };

/**
 * Operator writes: the source of truth first (durable), then the cache is made
 * to hold what the store now holds (refreshed, or a tombstone on delete) by
 * compare-and-set, so a concurrent write-back or PUT cannot leave old text there.
 * Each call is one tenant's: the stores see `<tenant>::<key>` only.
 */
export function contextAdmin(deps: CacheSyncDeps) {
  const { store, logger } = deps;
  return {
    async get(tenant: Tenant, key: string): Promise<string | undefined> {
      const k = tenantStoreKey(tenant, key);
      return (await logged(logger, store, 'get', k, () => store.get(k)))?.text;
    },
    async put(tenant: Tenant, key: string, text: string, ttlSeconds?: number): Promise<CacheSync> {
      const k = tenantStoreKey(tenant, key);
      await logged(logger, store, 'set', k, () => store.set(k, text, ttlSeconds));
      return syncCache(deps, k);
    },
    async delete(tenant: Tenant, key: string): Promise<CacheSync> {
      const k = tenantStoreKey(tenant, key);
      await logged(logger, store, 'delete', k, () => store.delete(k));
      return syncCache(deps, k);
    },
  };
}

export type ContextAdmin = ReturnType<typeof contextAdmin>;
