/**
 * Per-key limits shared by every gateway replica: fixed windows (the UTC
 * minute, the UTC day) counted in a shared store whose increments are atomic
 * (compare-and-set through Dapr, adapters/dapr-counters.ts). Requests are
 * counted on arrival; tokens are checked against an estimate before any model
 * is called, and charged with the models' reported usage after the answer.
 */
import type { KeyLimits } from './api-keys';

/** Resolved limits of one caller; 0 means no limit. */
export type Limits = Required<KeyLimits>;

/** A counter store whose `add` is atomic across replicas; counters expire with their window. */
export interface CounterStore {
  add(key: string, delta: number, ttlSeconds: number): Promise<number>;
  get(key: string): Promise<number>;
}

export type LimitReason = 'requests_per_minute' | 'tokens_per_minute' | 'tokens_per_day' | 'in_flight';

/** What the caller may still do, for the RateLimit headers (remaining, seconds to reset). */
export interface LimitState {
  limits: Limits;
  requests?: { remaining: number; resetS: number };
  minuteTokens?: { remaining: number; resetS: number };
  dayTokens?: { remaining: number; resetS: number };
}

export type Admission =
  | { ok: true; state: LimitState; release(): void; charge(tokens: number): void }
  | { ok: false; reason: LimitReason; retryAfterS: number; state: LimitState };

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
}

const MINUTE = 60_000;
const DAY = 86_400_000;
const none = () => undefined;

export class RateLimiter {
  constructor(
    private readonly store: CounterStore,
    private readonly options: LimiterOptions,
  ) {}

  /** Admits one request of `keyId` whose cost is estimated at `estimate` tokens, or says why not. */
  async admit(keyId: string, limits: Limits, estimate: number, now = Date.now()): Promise<Admission> {
    const minute = Math.floor(now / MINUTE);
    const day = Math.floor(now / DAY);
    const minuteResetS = Math.ceil(((minute + 1) * MINUTE - now) / 1000);
    const dayResetS = Math.ceil(((day + 1) * DAY - now) / 1000);
    const keys = { rpm: `rpm:${keyId}:${minute}`, tpm: `tpm:${keyId}:${minute}`, tpd: `tpd:${keyId}:${day}`, inflight: `inflight:${keyId}` };
    const state: LimitState = { limits };
    const refuse = (reason: LimitReason, retryAfterS: number): Admission => ({ ok: false, reason, retryAfterS, state });
    let holding = false;
    try {
      if (limits.requestsPerMinute > 0) {
        const count = await this.store.add(keys.rpm, 1, 2 * 60);
        state.requests = { remaining: Math.max(0, limits.requestsPerMinute - count), resetS: minuteResetS };
        if (count > limits.requestsPerMinute) return refuse('requests_per_minute', minuteResetS);
      }
      const [usedMinute, usedDay] = await Promise.all([
        limits.tokensPerMinute > 0 ? this.store.get(keys.tpm) : 0,
        limits.tokensPerDay > 0 ? this.store.get(keys.tpd) : 0,
      ]);
      if (limits.tokensPerMinute > 0) {
        state.minuteTokens = { remaining: Math.max(0, limits.tokensPerMinute - usedMinute), resetS: minuteResetS };
        if (usedMinute + estimate > limits.tokensPerMinute) return refuse('tokens_per_minute', minuteResetS);
      }
      if (limits.tokensPerDay > 0) {
        state.dayTokens = { remaining: Math.max(0, limits.tokensPerDay - usedDay), resetS: dayResetS };
        if (usedDay + estimate > limits.tokensPerDay) return refuse('tokens_per_day', dayResetS);
      }
      if (limits.maxInFlight > 0) {
        const inFlight = await this.store.add(keys.inflight, 1, this.options.inFlightTtlSeconds);
        holding = true;
        if (inFlight > limits.maxInFlight) {
          await this.release(keys.inflight);
          return refuse('in_flight', 1);
        }
      }
    } catch (err) {
      if (holding) await this.release(keys.inflight);
      if (this.options.failClosed) throw new LimitStoreUnavailable('the rate-limit store is unavailable', { cause: err });
      this.options.onStoreError(err);
      return { ok: true, state, release: none, charge: none };
    }
    let released = false;
    return {
      ok: true,
      state,
      release: () => {
        if (holding && !released) void this.release(keys.inflight);
        released = true;
      },
      charge: (tokens) => void this.charge(keys, tokens, limits),
    };
  }

  private async release(key: string): Promise<void> {
    await this.store.add(key, -1, this.options.inFlightTtlSeconds).catch((err) => this.options.onStoreError(err));
  }

  /** The models' reported usage, after the answer (a cache hit costs none). */
  private async charge(keys: { tpm: string; tpd: string }, tokens: number, limits: Limits): Promise<void> {
    if (tokens <= 0) return;
    await Promise.all([
      limits.tokensPerMinute > 0 ? this.store.add(keys.tpm, tokens, 2 * 60) : undefined,
      limits.tokensPerDay > 0 ? this.store.add(keys.tpd, tokens, 2 * 86_400) : undefined,
    ]).catch((err) => this.options.onStoreError(err));
  }

  /** Today's and this minute's counts of one key, for the admin usage route. */
  async usage(keyId: string, now = Date.now()) {
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
