/**
 * The exact-match answer cache: a finished, non-degraded answer stored under a
 * SHA-256 of everything that changes it, so a repeat of the same request costs
 * no model call.
 *
 * The key is the tenant's (`<tenant>::<hash>`: one tenant never reads another's
 * answers) and covers exactly the text the models read, un-normalised (system
 * instructions, history, question and the context *content*: updating or
 * deleting context gives a new key, so an answer built on old context is
 * unreachable without a scan; "2³" and "23", or two indentations of one
 * snippet, are different questions), the route/strategy,
 * maxTokens and the other sampling parameters, and a version string of the
 * model catalogue (each model's provider and target, in preference order) and
 * of the prompt template. Entries expire after ANSWER_CACHE_TTL_SECONDS.
 *
 * The cache never fails a request: a read that fails or outlasts its budget (the
 * request's deadline included) is a miss, a failed write is dropped; both are
 * logged at warn with a key hash and counted.
 */
import { type AnswerCacheStatus, type Tenant, tenantStoreKey } from '@context-qa/common/contract';
import { keyHash, sha256Hex as sha256 } from '@context-qa/common/crypto';
import type { Logger } from '@context-qa/common/telemetry';
import type { AnswerStore } from './ports';

/** Bump when the prompt template or the stored shape changes: every old entry then misses. */
export const ANSWER_CACHE_SCHEMA = 'answers/v3';

export type AnswerLookupOutcome = 'hit' | 'miss' | 'bypass' | 'error';
export type AnswerWriteOutcome = 'written' | 'error';

export interface AnswerCacheDeps {
  store: AnswerStore;
  /** 0 disables the cache: every request is a bypass. */
  ttlSeconds: number;
  /** Catalogue and prompt version (see `catalogueVersion`): a change misses every old entry. */
  version: string;
  logger: Logger;
  observeLookup?: (outcome: AnswerLookupOutcome) => void;
  observeWrite?: (outcome: AnswerWriteOutcome) => void;
}

/** The texts a prompt is built from, verbatim; how they are put together is the version's (the prompt template). */
export interface ModelInput {
  /** The application's own system/developer messages (chat); none on /v1/prompt. */
  instructions: readonly string[];
  history: readonly { role: string; text: string }[];
  question: string;
  /** The context text the prompt was built from; undefined: none. */
  context: string | undefined;
}

/** The input part of a key: one hash of exactly those texts, nothing normalised. */
export const inputFingerprint = (input: ModelInput): string =>
  sha256(
    JSON.stringify([
      input.instructions,
      input.history.map((t) => [t.role, t.text]),
      input.question,
      input.context ?? null,
    ]),
  );

/** `Cache-Control: no-cache` (or no-store) from the caller: skip the cache. */
export const noCacheRequested = (cacheControl: string | undefined): boolean =>
  cacheControl !== undefined && /(^|,)\s*no-(cache|store)\s*(=[^,]*)?(,|$)/i.test(cacheControl);

/** The catalogue version: models in preference order with what they call, plus how the prompt is built. */
export function catalogueVersion(
  models: readonly { name: string; provider: string; target: string }[],
  contextBudgetChars: number,
): string {
  return JSON.stringify({
    schema: ANSWER_CACHE_SCHEMA,
    models: models.map((m) => [m.name, m.provider, m.target]),
    contextBudgetChars,
  });
}

export class AnswerCache {
  constructor(private readonly deps: AnswerCacheDeps) {}

  get enabled(): boolean {
    return this.deps.ttlSeconds > 0;
  }

  /** The store key for a tenant's request parts (any JSON; the order of fields is fixed by the caller). */
  keyFor(tenant: Tenant, parts: Record<string, unknown>): string {
    return tenantStoreKey(tenant, sha256(JSON.stringify({ v: this.deps.version, ...parts })));
  }

  /** Counts a request that did not use the cache (disabled, asked to bypass, context unknown, stream). */
  bypassed(): 'bypass' {
    this.deps.observeLookup?.('bypass');
    return 'bypass';
  }

  /**
   * The cache's part in one request: no key (bypassed, or the context is
   * unknown) is a bypass; else a lookup, a hit or a miss. Never throws.
   */
  async consult<T>(
    key: string | undefined,
    signal: AbortSignal,
    valid: (v: unknown) => v is T,
  ): Promise<{ cache: AnswerCacheStatus; hit?: T }> {
    if (key === undefined) return { cache: this.bypassed() };
    const hit = await this.lookup(key, signal, valid);
    return hit === undefined ? { cache: 'miss' } : { cache: 'hit', hit };
  }

  /** The stored answer, or undefined (a miss, a malformed entry, or a failed/slow read). Never throws. */
  async lookup<T>(key: string, signal: AbortSignal, valid: (v: unknown) => v is T): Promise<T | undefined> {
    try {
      if (signal.aborted) throw new Error('the request deadline passed before the lookup');
      const value = await this.deps.store.get(key, signal);
      const hit = value !== undefined && valid(value);
      this.deps.observeLookup?.(hit ? 'hit' : 'miss');
      return hit ? value : undefined;
    } catch (err) {
      this.deps.observeLookup?.('error');
      this.deps.logger.warn(
        { store: this.deps.store.name, op: 'get', keyHash: keyHash(key), err },
        'answer cache read failed: treated as a miss',
      );
      return undefined;
    }
  }

  /** Stores a good answer off the response path. Never throws; the caller must not pass degraded answers. */
  save(key: string, value: unknown): Promise<void> {
    return this.deps.store.set(key, value, this.deps.ttlSeconds).then(
      () => this.deps.observeWrite?.('written'),
      (err: unknown) => {
        this.deps.observeWrite?.('error');
        this.deps.logger.warn(
          { store: this.deps.store.name, op: 'set', keyHash: keyHash(key), err },
          'answer cache write failed: answer not cached',
        );
      },
    );
  }
}

export type { AnswerCacheStatus };
