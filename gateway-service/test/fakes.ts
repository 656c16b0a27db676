/** Fakes at the gateway's own ports, for unit tests only. */
import type { AskResponse } from '@context-qa/common/contract';
import { DeadlineExceeded } from '@context-qa/common/deadline';
import { Readiness } from '@context-qa/common/http';
import { createLogger } from '@context-qa/common/telemetry';
import type { AiCore } from '../src/domain/ports';
import { casRecords, memoryKv, type VersionedKv } from '../src/adapters/limit-records-cas';
import { createApp } from '../src/app';
import type { LimitStore } from '../src/domain/ports';
import { RateLimiter, type Limits } from '../src/domain/rate-limiter';
import type { LimitDeps } from '../src/entry-points/limits';

/** A versioned store in memory (the stand-in for the Dapr state API): `failing` makes every call throw. */
export class FlakyKv implements VersionedKv {
  private readonly inner = memoryKv();
  failing = false;
  /** The next n writes land, then report a timeout: the ambiguous write of a sidecar that gave up late. */
  lostResults = 0;
  writes = 0;
  async get(key: string) {
    if (this.failing) throw new Error('limit store down');
    return this.inner.get(key);
  }
  async save(key: string, value: unknown, opts: { ttlSeconds?: number; etag?: string; firstWrite?: boolean }) {
    if (this.failing) throw new Error('limit store down');
    const written = await this.inner.save(key, value, opts);
    if (written) this.writes++;
    if (written && this.lostResults > 0) {
      this.lostResults--;
      throw new DeadlineExceeded('limit store save took longer than 300 ms');
    }
    return written;
  }
}

export const NO_LIMITS: Limits = { requestsPerMinute: 0, tokensPerMinute: 0, tokensPerDay: 0, maxInFlight: 0 };
/** A fixed clock: no test can straddle a minute boundary. */
export const FIXED_NOW = Date.UTC(2026, 0, 1, 12, 0, 30);

/** A limiter over `kv` (shared) and its own per-replica fallback. */
export function limiterOver(
  kv: VersionedKv,
  opts: {
    failClosed?: boolean;
    clock?: () => number;
    onStoreError?: (err: unknown) => void;
    leaseSeconds?: number;
  } = {},
) {
  const store = casRecords(kv, 'test limits');
  const limiter = new RateLimiter(store, {
    failClosed: opts.failClosed ?? false,
    leaseSeconds: opts.leaseSeconds ?? 10,
    fallback: casRecords(memoryKv(), 'per-replica limits'),
    fallbackReplicas: 2,
    onStoreError: opts.onStoreError ?? (() => {}),
    clock: opts.clock ?? (() => FIXED_NOW),
  });
  return { limiter, store };
}

/** The record once every update sent so far has been applied (updates queue per record, in order); writes nothing. */
export const settledRecord = async (store: LimitStore, key: string) =>
  (await store.update(key, (stored) => ({ record: undefined, stored }), 60)).stored;

/** Model calls a strategy (or chat alias) makes: both models, and fuse's synthesis on top. */
const CALLS: Record<string, number> = { both: 2, fastest: 2, sequential: 2, fuse: 3 };

/** Limit deps over `kv`, recording decisions and token counts. */
export function limitDeps(defaults: Partial<Limits> = {}, opts: { kv?: FlakyKv; failClosed?: boolean } = {}) {
  const kv = opts.kv ?? new FlakyKv();
  const decisions: string[] = [];
  const tokens: [string, string, string, number][] = [];
  const { limiter, store } = limiterOver(kv, {
    ...(opts.failClosed !== undefined ? { failClosed: opts.failClosed } : {}),
    onStoreError: () => decisions.push('store_error'),
  });
  const deps: LimitDeps = {
    limiter,
    defaults: { ...NO_LIMITS, ...defaults },
    assumedMaxTokens: 100,
    assumedContextTokens: 0,
    maxCalls: (name) => (Object.hasOwn(CALLS, name) ? CALLS[name]! : 1),
    onDecision: (d, reason) => decisions.push(reason ? `${d}:${reason}` : d),
    onTokens: (keyId, model, type, n) => tokens.push([keyId, model, type, n]),
  };
  return { deps, kv, store, decisions, tokens };
}

const unused = async (): Promise<never> => {
  throw new Error('not called');
};

/** The gateway app with nothing behind it (no ai-core, no keys): for routes that must answer on their own. */
export const idleApp = (surface: 'all' | 'public' | 'admin' = 'all') =>
  createApp({
    logger: createLogger('test', 'silent'),
    aiCore: { send: unused, open: unused } satisfies AiCore,
    apiKeys: () => [],
    readiness: new Readiness({}),
    bodyLimit: '1kb',
    requestTimeoutMs: 5000,
    limits: limitDeps().deps,
    surface,
  });

/** An answer as ai-core sends it: gpt4 answered, llama4 failed; `over` replaces any field. */
export const askResponse = (over: Partial<AskResponse> = {}): AskResponse => ({
  requestId: 'x',
  answer: 'A',
  answeredBy: 'gpt4',
  strategy: 'both',
  degraded: false,
  context: { source: 'none', key: 'k' },
  cache: 'miss',
  models: {
    gpt4: { status: 'ok', text: 'G', latencyMs: 1 },
    llama4: { status: 'error', latencyMs: 1, error: 'upstream: x' },
  },
  ...over,
});
