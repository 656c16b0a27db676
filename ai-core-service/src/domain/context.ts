import { createHash } from 'node:crypto';
import type { ContextSource } from '@context-qa/common';
import type { TextStore } from './ports';

const MAX_PLAIN_KEY = 256;

/**
 * The context key for a request: the caller's contextKey, else the prompt
 * normalised (NFKC, trimmed, whitespace collapsed, lower-cased) so equivalent
 * questions share context; long or Dapr-unsafe keys become a sha256.
 */
export function contextKeyFor(prompt: string, contextKey?: string): string {
  if (contextKey !== undefined) return contextKey;
  const normalised = prompt.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
  if (normalised.length <= MAX_PLAIN_KEY && !normalised.includes('||')) return normalised;
  return `sha256:${createHash('sha256').update(normalised).digest('hex')}`;
}

export interface ContextLookup {
  source: ContextSource;
  text?: string;
  /** The source of truth failed: we answer without context. */
  degraded: boolean;
}

export interface ContextDeps {
  cache: TextStore;
  store: TextStore;
  cacheTtlSeconds: number;
  /** Reports a lookup step for metrics: which store, what happened. */
  observe?: (store: 'cache' | 'store', outcome: 'hit' | 'miss' | 'error') => void;
}

/** Cache-aside read: Redis first; on a miss (or a cache failure) DynamoDB, then write back to the cache. */
export async function lookupContext(key: string, deps: ContextDeps): Promise<ContextLookup> {
  const observe = deps.observe ?? (() => {});
  try {
    const cached = await deps.cache.get(key);
    observe('cache', cached === undefined ? 'miss' : 'hit');
    if (cached !== undefined) return { source: 'redis', text: cached, degraded: false };
  } catch {
    observe('cache', 'error'); // a sick cache is a miss, never a failed answer
  }
  let stored: string | undefined;
  try {
    stored = await deps.store.get(key);
  } catch {
    observe('store', 'error');
    return { source: 'none', degraded: true };
  }
  observe('store', stored === undefined ? 'miss' : 'hit');
  if (stored === undefined) return { source: 'none', degraded: false };
  await deps.cache.set(key, stored, deps.cacheTtlSeconds).catch(() => observe('cache', 'error'));
  return { source: 'dynamodb', text: stored, degraded: false };
}
