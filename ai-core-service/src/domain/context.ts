/**
 * Finding a question's context: its key (given, or a hash of the normalised prompt) and the cache-aside
 * lookup (cache, then source of truth), with a write-back that never overwrites newer text.
 */
import { createHash } from 'node:crypto';
import type { ContextSource } from '@context-qa/common/contract';
import { logged, startWriteBack, type CacheSyncDeps } from './cache-sync';
import type { CacheEntry, StoredText } from './ports';

/**
 * The context key for a request: the caller's contextKey, else the SHA-256 of
 * the prompt normalised (NFKC, trimmed, whitespace collapsed, lower-cased), so
 * equivalent questions share context and the question itself never becomes a
 * key (keys show in store URLs, so in the sidecars' spans, and in the stores).
 */
export function contextKeyFor(prompt: string, contextKey?: string): string {
  if (contextKey !== undefined) return contextKey;
  const normalised = prompt.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
  return `sha256:${createHash('sha256').update(normalised).digest('hex')}`;
}

export interface ContextLookup {
  source: ContextSource;
  text?: string;
  /** The source of truth failed: we answer without context. */
  degraded: boolean;
}

export interface ContextDeps extends CacheSyncDeps {
  /** Reports a lookup step for metrics: which store, what happened, how long it took. */
  observe?: (store: 'cache' | 'store', outcome: 'hit' | 'miss' | 'error', seconds: number) => void;
}

/**
 * Cache-aside read: Redis first; on a miss (or a cache failure) DynamoDB. The
 * write-back to the cache runs after the answer, as a compare-and-set against
 * the version read here (see cache-sync.ts), so it never overwrites a newer
 * PUT or DELETE. After a failed cache read there is no version: no write-back.
 */
export async function lookupContext(key: string, deps: ContextDeps, signal?: AbortSignal): Promise<ContextLookup> {
  const report = deps.observe ?? (() => {});
  // Each step is timed from its own start: the store's latency does not include the cache's.
  let started = performance.now();
  const observe = (store: 'cache' | 'store', outcome: 'hit' | 'miss' | 'error') =>
    report(store, outcome, (performance.now() - started) / 1000);
  let seen: CacheEntry | undefined;
  try {
    seen = await logged(deps.logger, deps.cache, 'read', key, () => deps.cache.read(key, signal));
    observe('cache', seen.kind === 'text' ? 'hit' : 'miss');
    if (seen.kind === 'text') return { source: 'redis', text: seen.text, degraded: false };
  } catch {
    observe('cache', 'error'); // a sick cache is a miss, never a failed answer
  }
  let stored: StoredText | undefined;
  started = performance.now();
  try {
    stored = await logged(deps.logger, deps.store, 'get', key, () => deps.store.get(key, signal));
  } catch {
    observe('store', 'error');
    return { source: 'none', degraded: true };
  }
  observe('store', stored === undefined ? 'miss' : 'hit');
  if (stored === undefined) return { source: 'none', degraded: false };
  if (seen) startWriteBack(deps, key, seen, stored);
  return { source: 'dynamodb', text: stored.text, degraded: false };
}
