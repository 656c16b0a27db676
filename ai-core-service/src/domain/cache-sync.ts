/**
 * Keeping the cache coherent with the source of truth.
 *
 * Every cache write is a compare-and-set on the version (etag) read *before*
 * the store was read: read cache → read store → write "if still that version".
 * An admin PUT/DELETE writes the store, then runs that loop until it lands
 * (refresh with whatever the store now holds, or a tombstone), so after it
 * returns the cache's version has moved past anything a slower writer saw:
 * - a read-miss write-back that read the store before the PUT/DELETE loses its
 *   compare-and-set (the key changed), so it cannot put the old text back;
 * - two concurrent PUTs never write their own text, only what the store holds
 *   after their write, so the last successful refresh is the store's last value;
 * - DELETE leaves a tombstone, not a hole: an absent key would accept a late
 *   create-only write-back. Tombstones read as misses and live CACHE_TTL_SECONDS,
 *   far longer than any write-back (each call is bounded by its timeout).
 * Limits: a refresh that fails (cache down) leaves the old copy until its TTL,
 * as before; a key that expires while a write-back is in flight restarts its
 * version at 1 (Redis), a window of milliseconds.
 */
import { keyHash } from '@context-qa/common/crypto';
import type { Logger } from '@context-qa/common/telemetry';
import type { PendingWrites } from './pending-writes';
import type { CacheEntry, ContextCache, StoredText, TextStore } from './ports';

export type CacheSync = 'refreshed' | 'invalidated' | 'failed';
export type WriteBackOutcome = 'written' | 'conflict' | 'expired' | 'error';

export interface CacheSyncDeps {
  cache: ContextCache;
  store: TextStore;
  cacheTtlSeconds: number;
  /** Store failures are logged at warn with the store, operation, key hash and cause; never the text. */
  logger: Logger;
  /** Where write-backs run off the response path; shutdown drains it. */
  writeBacks: PendingWrites;
  /** Test hook (test-hooks.ts, never a setting): hold each write-back this long so tests can interleave admin writes. */
  writeBackDelayMs?: number;
  observeWriteBack?: (outcome: WriteBackOutcome) => void;
}

const SYNC_ATTEMPTS = 5;

/** Keys may be normalised prompts, which are never logged: a short hash identifies them. */

/** Runs one store call; a failure is logged with its cause and rethrown. */
export async function logged<T>(
  logger: Logger,
  store: { name: string },
  op: string,
  key: string,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (err) {
    logger.warn({ store: store.name, op, keyHash: keyHash(key), err }, `context ${op} on ${store.name} failed`);
    throw err;
  }
}

/** The cache copy may not outlive the stored item; 0 or less means it has expired. */
function ttlFor(stored: StoredText, capSeconds: number): number {
  if (stored.expiresAt === undefined) return capSeconds;
  return Math.min(capSeconds, Math.floor((stored.expiresAt - Date.now()) / 1000));
}

/** One compare-and-set of the stored text, or of a tombstone when there is none. */
function fill(deps: CacheSyncDeps, key: string, seen: CacheEntry, live: StoredText | undefined) {
  const ttl = live ? ttlFor(live, deps.cacheTtlSeconds) : deps.cacheTtlSeconds;
  return logged(deps.logger, deps.cache, 'write', key, () => deps.cache.write(key, seen, live?.text, ttl));
}

/** After a read miss: fill the cache in the background, only if nothing was written since `seen`. */
export function startWriteBack(deps: CacheSyncDeps, key: string, seen: CacheEntry, stored: StoredText): void {
  deps.writeBacks.start(key, async () => {
    if (deps.writeBackDelayMs) await new Promise((r) => setTimeout(r, deps.writeBackDelayMs));
    let outcome: WriteBackOutcome = 'expired';
    if (ttlFor(stored, deps.cacheTtlSeconds) > 0)
      outcome = await fill(deps, key, seen, stored).catch(() => 'error' as const);
    if (outcome === 'conflict')
      deps.logger.debug({ keyHash: keyHash(key) }, 'cache write-back skipped: a newer write came first');
    deps.observeWriteBack?.(outcome);
  });
}

/** After an admin write to the store: make the cache hold what the store now holds. */
export async function syncCache(deps: CacheSyncDeps, key: string): Promise<CacheSync> {
  const { cache, store, logger } = deps;
  try {
    for (let attempt = 1; attempt <= SYNC_ATTEMPTS; attempt++) {
      const seen = await logged(logger, cache, 'read', key, () => cache.read(key));
      const stored = await logged(logger, store, 'get', key, () => store.get(key));
      const live = stored && ttlFor(stored, deps.cacheTtlSeconds) > 0 ? stored : undefined;
      if ((await fill(deps, key, seen, live)) === 'written') return live ? 'refreshed' : 'invalidated';
    }
    logger.warn(
      { store: cache.name, op: 'write', keyHash: keyHash(key), attempts: SYNC_ATTEMPTS },
      'context cache sync gave up: every write conflicted',
    );
  } catch {
    // already logged with its cause
  }
  return 'failed';
}
