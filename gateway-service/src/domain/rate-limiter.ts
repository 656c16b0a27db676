/**
 * Per-key limits shared by every gateway replica: fixed windows (the UTC
 * minute, the UTC day) counted in a shared store whose increments are atomic
 * (compare-and-set through Dapr, adapters/dapr-counters.ts). A request takes
 * its slot and reserves its estimated tokens before any model is called; after
 * the answer the reservation is corrected to the models' reported usage (kept
 * as it is when no usage comes back).
 */
import type { KeyLimits } from './api-keys';

/** Resolved limits of one caller; 0 means no limit. */
export type Limits = Required<KeyLimits>;

/** Counters whose updates are atomic across replicas; each expires with its window. */
export interface CounterStore {
  /** Adds unconditionally (refunds, releases); never below 0. */
  add(key: string, delta: number, ttlSeconds: number): Promise<number>;
  /** Adds `amount` only if the result stays within `limit`; a refusal writes nothing. */
  take(key: string, amount: number, limit: number, ttlSeconds: number): Promise<{ ok: boolean; value: number }>;
  get(key: string): Promise<number>;
}

/** Writes to one counter kept conflicting (a burst on one key): refuse briefly rather than guess. */
export class CounterBusy extends Error {
  override name = 'CounterBusy';
}

export type LimitReason = 'requests_per_minute' | 'tokens_per_minute' | 'tokens_per_day' | 'in_flight' | 'busy';

/** What the caller may still do, for the RateLimit headers (remaining, seconds to reset). */
export interface LimitState {
  limits: Limits;
  requests?: { remaining: number; resetS: number };
  minuteTokens?: { remaining: number; resetS: number };
  dayTokens?: { remaining: number; resetS: number };
}

export type Admission =
  { ok: true; state: LimitState; release: () => void; charge: (tokens: number) => void } | { ok: false; reason: LimitReason; retryAfterS: number; state: LimitState };

/** The limit store failed and the limiter fails closed. */
export class LimitStoreUnavailable extends Error {
  override name = 'LimitStoreUnavailable';
}

export interface LimiterOptions {
  failClosed: boolean;
  /** TTL of the in-flight counter: a replica that dies mid-request cannot hold a slot longer. */
  inFlightTtlSeconds: number;
  /** Called when the store failed and the request was admitted anyway (fail open). */
  onStoreError(err: unknown): void;
  /** For tests: the time windows are computed from. */
  clock?: () => number;
}

/** One limit: a conditional increment of one counter. */
interface Step {
  key: string;
  amount: number;
  limit: number;
  ttl: number;
  reason: LimitReason;
  retryAfterS: number;
  note?: (value: number) => void;
}

const MINUTE = 60_000;
const DAY = 86_400_000;
const none = () => undefined;

export class RateLimiter {
  constructor(
    private readonly store: CounterStore,
    private readonly options: LimiterOptions,
  ) {}

  /**
   * Admits one request of `keyId` whose cost is estimated at `estimate`
   * tokens, or says why not. Every limit is a conditional increment, so no
   * number of concurrent requests on any number of replicas gets past it:
   * the request takes its slot, and reserves its estimated tokens, or is
   * refused without writing (and gives back what it took for earlier limits).
   */
  async admit(keyId: string, limits: Limits, estimate: number, now = this.options.clock?.() ?? Date.now()): Promise<Admission> {
    const minute = Math.floor(now / MINUTE);
    const day = Math.floor(now / DAY);
    const minuteResetS = Math.ceil(((minute + 1) * MINUTE - now) / 1000);
    const dayResetS = Math.ceil(((day + 1) * DAY - now) / 1000);
    const state: LimitState = { limits };
    const all: Step[] = [
      {
        key: `rpm:${keyId}:${minute}`,
        amount: 1,
        limit: limits.requestsPerMinute,
        ttl: 120,
        reason: 'requests_per_minute',
        retryAfterS: minuteResetS,
        note: (v: number) => (state.requests = { remaining: Math.max(0, limits.requestsPerMinute - v), resetS: minuteResetS }),
      },
      {
        key: `tpm:${keyId}:${minute}`,
        amount: estimate,
        limit: limits.tokensPerMinute,
        ttl: 120,
        reason: 'tokens_per_minute',
        retryAfterS: minuteResetS,
        note: (v: number) => (state.minuteTokens = { remaining: Math.max(0, limits.tokensPerMinute - v), resetS: minuteResetS }),
      },
      {
        key: `tpd:${keyId}:${day}`,
        amount: estimate,
        limit: limits.tokensPerDay,
        ttl: 2 * 86_400,
        reason: 'tokens_per_day',
        retryAfterS: dayResetS,
        note: (v: number) => (state.dayTokens = { remaining: Math.max(0, limits.tokensPerDay - v), resetS: dayResetS }),
      },
      { key: `inflight:${keyId}`, amount: 1, limit: limits.maxInFlight, ttl: this.options.inFlightTtlSeconds, reason: 'in_flight', retryAfterS: 1 },
    ];
    const steps = all.filter((step) => step.limit > 0);
    // All limits at once (one round of compare-and-set, not four); if one refuses, the others give back.
    const results = await Promise.allSettled(steps.map((step) => this.store.take(step.key, step.amount, step.limit, step.ttl)));
    const taken = steps.filter((_, i) => results[i]!.status === 'fulfilled' && (results[i] as PromiseFulfilledResult<{ ok: boolean }>).value.ok);
    const giveBack = () => Promise.all(taken.map((t) => this.store.add(t.key, -t.amount, t.ttl).catch((err) => this.options.onStoreError(err))));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await giveBack();
      if (failed.reason instanceof CounterBusy) return { ok: false, reason: 'busy', retryAfterS: 1, state };
      if (this.options.failClosed) throw new LimitStoreUnavailable('the rate-limit store is unavailable', { cause: failed.reason });
      this.options.onStoreError(failed.reason);
      return { ok: true, state, release: none, charge: none };
    }
    steps.forEach((step, i) => {
      const { ok, value } = (results[i] as PromiseFulfilledResult<{ ok: boolean; value: number }>).value;
      step.note?.(ok ? value : value + step.amount);
    });
    const refusedAt = steps.findIndex((_, i) => !(results[i] as PromiseFulfilledResult<{ ok: boolean }>).value.ok);
    if (refusedAt >= 0) {
      await giveBack();
      return { ok: false, reason: steps[refusedAt]!.reason, retryAfterS: steps[refusedAt]!.retryAfterS, state };
    }
    const inFlight = taken.find((t) => t.reason === 'in_flight');
    const tokenSteps = taken.filter((t) => t.reason === 'tokens_per_minute' || t.reason === 'tokens_per_day');
    let released = false;
    return {
      ok: true,
      state,
      release: () => {
        if (inFlight && !released) void this.store.add(inFlight.key, -1, inFlight.ttl).catch((err) => this.options.onStoreError(err));
        released = true;
      },
      // The reservation becomes the reported usage: the difference is added (or given back).
      charge: (tokens) => {
        const delta = tokens - estimate;
        if (delta !== 0) for (const t of tokenSteps) void this.store.add(t.key, delta, t.ttl).catch((err) => this.options.onStoreError(err));
      },
    };
  }

  /** Today's and this minute's counts of one key, for the admin usage route. */
  async usage(keyId: string, now = this.options.clock?.() ?? Date.now()) {
    const minute = Math.floor(now / MINUTE);
    const day = Math.floor(now / DAY);
    const [requests, minuteTokens, dayTokens, inFlight] = await Promise.all([
      this.store.get(`rpm:${keyId}:${minute}`),
      this.store.get(`tpm:${keyId}:${minute}`),
      this.store.get(`tpd:${keyId}:${day}`),
      this.store.get(`inflight:${keyId}`),
    ]);
    return { keyId, minute: { requests, tokens: minuteTokens, resetsInSeconds: Math.ceil(((minute + 1) * MINUTE - now) / 1000) }, day: { tokens: dayTokens }, inFlight };
  }
}

/** `RateLimit-Policy` and `RateLimit` (IETF httpapi draft, structured fields), one policy per limit in force. */
export function rateLimitHeaders(state: LimitState): Record<string, string> {
  const policies: string[] = [];
  const current: string[] = [];
  const add = (name: string, quota: number, window: number, now?: { remaining: number; resetS: number }) => {
    if (quota <= 0) return;
    policies.push(`"${name}";q=${quota};w=${window}`);
    if (now) current.push(`"${name}";r=${now.remaining};t=${now.resetS}`);
  };
  add('requests-per-minute', state.limits.requestsPerMinute, 60, state.requests);
  add('tokens-per-minute', state.limits.tokensPerMinute, 60, state.minuteTokens);
  add('tokens-per-day', state.limits.tokensPerDay, 86_400, state.dayTokens);
  return policies.length ? { 'ratelimit-policy': policies.join(', '), ...(current.length ? { ratelimit: current.join(', ') } : {}) } : {};
}
