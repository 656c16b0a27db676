/**
 * Per-key limits shared by every gateway replica: each key's limits are one
 * record (domain/limit-record.ts) in a shared store, moved by one
 * compare-and-set per decision (adapters/limit-records-cas.ts). A request is
 * admitted by every limit at once or refused with nothing written; it reserves
 * its estimated tokens and holds a lease while it runs (renewed, so a lost
 * release frees itself within the lease); after the answer the reservation is
 * corrected to the models' reported usage. When the shared store cannot be
 * reached, a per-replica record decides instead, with each limit divided by
 * the replicas assumed to share the load (or 503, with failClosed).
 */
import { randomBytes } from 'node:crypto';
import { CounterBusy, type LimitStore } from './ports';
import {
  assertAmount,
  decide,
  usageOf,
  roll,
  emptyRecord,
  type LimitOp,
  type LimitReason,
  type Limits,
  type Usage,
} from './limit-record';

export { assertAmount, type LimitReason, type LimitRecord, type Limits } from './limit-record';

/** What the caller may still do, for the RateLimit headers (remaining, seconds to reset). */
export interface LimitState {
  limits: Limits;
  requests?: { remaining: number; resetS: number };
  minuteTokens?: { remaining: number; resetS: number };
  dayTokens?: { remaining: number; resetS: number };
}

export type Admission =
  | { ok: true; state: LimitState; release: () => void; charge: (tokens: number) => void }
  | { ok: false; reason: LimitReason; retryAfterS: number; state: LimitState };

/** The limit store failed and the limiter fails closed. */
export class LimitStoreUnavailable extends Error {
  override name = 'LimitStoreUnavailable';
}

/**
 * What a failure of the shared store cost: an admission decided by the per-replica `fallback`
 * or refused (`fail_closed`: 503), or an update of an admitted request lost (its lease's
 * `release` or `renew`al, its token `charge`; not retried).
 */
export type StoreFailure = 'fallback' | 'fail_closed' | 'release' | 'charge' | 'renew';

export interface LimiterOptions {
  /** The store unreachable: true throws LimitStoreUnavailable (503), false decides with the per-replica `fallback`. */
  failClosed: boolean;
  /** How long an in-flight slot lives unless renewed (every third of it while the request runs). */
  leaseSeconds: number;
  /** This replica's own records, used while the shared store is unreachable. */
  fallback: LimitStore;
  /** Replicas assumed to share a key's load while the shared store is unreachable: each gets its limits divided by this. */
  fallbackReplicas: number;
  /** Called when the shared store failed, with what that cost (StoreFailure). */
  onStoreError(err: unknown, failure: StoreFailure): void;
  /** For tests: the time windows and leases are computed from. */
  clock?: () => number;
}

/** A day and a little: the record holds the day's tokens. */
const RECORD_TTL_SECONDS = 2 * 86_400;
const none = () => undefined;
const recordKey = (keyId: string) => `limits:${keyId}`;
/** Lease ids of our own making: a caller-chosen id (x-request-id) repeated would share a lease. */
const newId = () => randomBytes(9).toString('base64url');
const anyLimit = (l: Limits) =>
  l.requestsPerMinute > 0 || l.tokensPerMinute > 0 || l.tokensPerDay > 0 || l.maxInFlight > 0;

/** Each limit divided among `replicas` (at least 1: a limited key still gets through somewhere). */
export function perReplica(limits: Limits, replicas: number): Limits {
  const share = (l: number) => (l > 0 ? Math.max(1, Math.floor(l / replicas)) : 0);
  return {
    requestsPerMinute: share(limits.requestsPerMinute),
    tokensPerMinute: share(limits.tokensPerMinute),
    tokensPerDay: share(limits.tokensPerDay),
    maxInFlight: share(limits.maxInFlight),
  };
}

function stateOf(limits: Limits, u: Usage): LimitState {
  const left = (limit: number, used: number, resetS: number) =>
    limit > 0 ? { remaining: Math.max(0, limit - used), resetS } : undefined;
  const requests = left(limits.requestsPerMinute, u.requests, u.minuteResetS);
  const minuteTokens = left(limits.tokensPerMinute, u.minuteTokens, u.minuteResetS);
  const dayTokens = left(limits.tokensPerDay, u.dayTokens, u.dayResetS);
  return {
    limits,
    ...(requests ? { requests } : {}),
    ...(minuteTokens ? { minuteTokens } : {}),
    ...(dayTokens ? { dayTokens } : {}),
  };
}

export class RateLimiter {
  private readonly clock: () => number;
  private readonly leaseMs: number;

  constructor(
    private readonly store: LimitStore,
    private readonly options: LimiterOptions,
  ) {
    this.clock = options.clock ?? Date.now;
    this.leaseMs = options.leaseSeconds * 1000;
  }

  /**
   * Admits one request of `keyId` whose cost is estimated at `estimate`
   * tokens, or says why not: one decision over all of the key's limits, so no
   * number of concurrent requests on any number of replicas gets past one,
   * and a refusal takes nothing. `estimate` must be a finite number ≥ 0.
   */
  async admit(keyId: string, limits: Limits, estimate: number, now = this.clock()): Promise<Admission> {
    assertAmount('a token estimate', estimate);
    if (!anyLimit(limits)) return { ok: true, state: { limits }, release: none, charge: none };
    const id = newId();
    const op = (l: Limits): LimitOp => ({
      kind: 'admit',
      limits: l,
      tokens: estimate,
      leaseId: id,
      leaseExpiresAt: now + this.leaseMs,
    });
    let store = this.store;
    let applied = limits;
    let decision;
    try {
      decision = await store.update(recordKey(keyId), (stored) => decide(stored, op(applied), now), RECORD_TTL_SECONDS);
    } catch (err) {
      if (err instanceof CounterBusy) return { ok: false, reason: 'busy', retryAfterS: 1, state: { limits } };
      this.options.onStoreError(err, this.options.failClosed ? 'fail_closed' : 'fallback');
      if (this.options.failClosed)
        throw new LimitStoreUnavailable('the rate-limit store is unavailable', { cause: err });
      store = this.options.fallback;
      applied = perReplica(limits, this.options.fallbackReplicas);
      decision = await store.update(recordKey(keyId), (stored) => decide(stored, op(applied), now), RECORD_TTL_SECONDS);
    }
    const { verdict, usage } = decision;
    const state = stateOf(applied, usage); // the headers tell the limits that decided
    if (!verdict.ok) return { ok: false, reason: verdict.reason, retryAfterS: verdict.retryAfterS, state };
    const held = {
      leased: limits.maxInFlight > 0,
      tokensLimited: limits.tokensPerMinute > 0 || limits.tokensPerDay > 0,
    };
    return { ok: true, state, ...this.held(store, keyId, id, held, estimate, verdict) };
  }

  /** The admitted request's release (its lease, renewed until then) and its charge. */
  private held(
    store: LimitStore,
    keyId: string,
    id: string,
    { leased, tokensLimited }: { leased: boolean; tokensLimited: boolean },
    estimate: number,
    window: { minute: number; day: number },
  ) {
    const send = (op: Exclude<LimitOp, { kind: 'admit' }>) =>
      void store
        .update(recordKey(keyId), (stored) => decide(stored, op, this.clock()), RECORD_TTL_SECONDS)
        .catch((err) => this.options.onStoreError(err, op.kind));
    const renewal = leased
      ? setInterval(
          () => send({ kind: 'renew', leaseId: id, leaseExpiresAt: this.clock() + this.leaseMs }),
          this.leaseMs / 3,
        )
      : undefined;
    renewal?.unref();
    let released = false;
    let charged = estimate;
    return {
      // A release that fails is not retried: the lease, no longer renewed, expires within leaseSeconds.
      release: () => {
        if (released) return;
        released = true;
        clearInterval(renewal);
        if (leased) send({ kind: 'release', leaseId: id });
      },
      // The reservation becomes the reported usage (absolute): the difference is added or given back.
      charge: (tokens: number) => {
        assertAmount('a token charge', tokens);
        const delta = tokens - charged;
        charged = tokens;
        // A key without token limits reserved nothing, and its spend is counted in metrics, not here: no write.
        if (delta !== 0 && tokensLimited) send({ kind: 'charge', ...window, delta });
      },
    };
  }

  /** Today's and this minute's counts of one key, and its requests in flight, for the admin usage route. */
  async usage(keyId: string, now = this.clock()) {
    const stored = await this.store.get(recordKey(keyId)).catch((err: unknown) => {
      throw new LimitStoreUnavailable('the rate-limit store is unavailable', { cause: err });
    });
    const u = usageOf(roll(stored ?? emptyRecord(now), now), now);
    return {
      keyId,
      minute: { requests: u.requests, tokens: u.minuteTokens, resetsInSeconds: u.minuteResetS },
      day: { tokens: u.dayTokens },
      inFlight: u.inFlight,
    };
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
  return policies.length
    ? { 'ratelimit-policy': policies.join(', '), ...(current.length ? { ratelimit: current.join(', ') } : {}) }
    : {};
}
