/** Fakes at the gateway's own ports, for unit tests only. */
import { createLogger, Readiness, type AskResponse } from '@context-qa/common';
import type { AiCore } from '../src/adapters/ai-core-invoker';
import { createApp } from '../src/app';
import { RateLimiter, type CounterStore, type Limits } from '../src/domain/rate-limiter';
import type { LimitDeps } from '../src/entry-points/limits';

/** Counters in a Map (one process: atomic by construction); `failing` makes every call throw. */
export class MapCounters implements CounterStore {
  readonly data = new Map<string, number>();
  failing = false;
  async add(key: string, delta: number): Promise<number> {
    if (this.failing) throw new Error('counter store down');
    const next = Math.max(0, (this.data.get(key) ?? 0) + delta);
    this.data.set(key, next);
    return next;
  }
  async take(key: string, amount: number, limit: number): Promise<{ ok: boolean; value: number }> {
    if (this.failing) throw new Error('counter store down');
    const value = this.data.get(key) ?? 0;
    if (value + amount > limit) return { ok: false, value };
    this.data.set(key, value + amount);
    return { ok: true, value: value + amount };
  }
  async get(key: string): Promise<number> {
    if (this.failing) throw new Error('counter store down');
    return this.data.get(key) ?? 0;
  }
}

export const NO_LIMITS: Limits = { requestsPerMinute: 0, tokensPerMinute: 0, tokensPerDay: 0, maxInFlight: 0 };

/** Limit deps over `counters`, recording decisions and token counts. */
export function limitDeps(defaults: Partial<Limits> = {}, opts: { counters?: MapCounters; failClosed?: boolean } = {}) {
  const counters = opts.counters ?? new MapCounters();
  const decisions: string[] = [];
  const tokens: [string, string, string, number][] = [];
  const deps: LimitDeps = {
    // A fixed clock: no test can straddle a minute boundary.
    limiter: new RateLimiter(counters, {
      failClosed: opts.failClosed ?? false,
      inFlightTtlSeconds: 60,
      onStoreError: () => decisions.push('store_error'),
      clock: () => Date.UTC(2026, 0, 1, 12, 0, 30),
    }),
    defaults: { ...NO_LIMITS, ...defaults },
    assumedMaxTokens: 100,
    assumedContextTokens: 0,
    onDecision: (d, reason) => decisions.push(reason ? `${d}:${reason}` : d),
    onTokens: (keyId, model, type, n) => tokens.push([keyId, model, type, n]),
  };
  return { deps, counters, decisions, tokens };
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
  models: { gpt4: { status: 'ok', text: 'G', latencyMs: 1 }, llama4: { status: 'error', latencyMs: 1, error: 'upstream: x' } },
  ...over,
});
