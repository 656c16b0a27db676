/**
 * One key's limits as one record, and the one pure decision that moves it.
 * Every limit of a key (the UTC minute's requests and tokens, the UTC day's
 * tokens, the requests in flight as leases) lives in one record, so one
 * compare-and-set decides them all: a request is either admitted by every
 * limit at once (its request counted, its tokens reserved, its lease taken) or
 * refused with nothing written. A request refused by one limit therefore never
 * holds another limit's slot.
 */
import type { KeyLimits } from './api-keys';

/** Resolved limits of one caller; 0 means no limit. */
export type Limits = Required<KeyLimits>;

export type LimitReason = 'requests_per_minute' | 'tokens_per_minute' | 'tokens_per_day' | 'in_flight' | 'busy';

export interface LimitRecord {
  /** The UTC minute (minutes since the epoch) that `requests` and `minuteTokens` count. */
  minute: number;
  requests: number;
  minuteTokens: number;
  /** The UTC day (days since the epoch) that `dayTokens` counts. */
  day: number;
  dayTokens: number;
  /** Requests in flight: lease id → expiry (ms since the epoch). A lease nobody renews frees itself. */
  leases: Record<string, number>;
  /**
   * Ids of the latest writes, newest last (one per write, whatever it carries): a write whose
   * answer was lost is recognised on the re-read and never applied twice.
   */
  applied: string[];
}

/** A write whose result was lost is re-checked right away: a short memory of writes suffices. */
export const APPLIED_KEPT = 64;
export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

export type LimitOp =
  /** Counts one request and reserves `tokens`, taking lease `leaseId` until `leaseExpiresAt` when in-flight requests are limited. */
  | { kind: 'admit'; limits: Limits; tokens: number; leaseId: string; leaseExpiresAt: number }
  /** Corrects a reservation made in `minute` / `day` by `delta` tokens (negative gives back). */
  | { kind: 'charge'; minute: number; day: number; delta: number }
  | { kind: 'release'; leaseId: string }
  | { kind: 'renew'; leaseId: string; leaseExpiresAt: number };

export type Verdict =
  | { ok: true; minute: number; day: number }
  | { ok: false; reason: Exclude<LimitReason, 'busy'>; retryAfterS: number; minute: number; day: number };

export interface Decision {
  /** The record to write, or undefined when nothing changed (nothing to write). */
  record?: LimitRecord;
  verdict: Verdict;
  /** What the record counts after the decision, for the RateLimit headers. */
  usage: Usage;
}

export interface Usage {
  requests: number;
  minuteTokens: number;
  dayTokens: number;
  inFlight: number;
  minuteResetS: number;
  dayResetS: number;
}

/**
 * A negative, infinite or non-number amount is a bug upstream: never a credit,
 * never written. Beyond 2^53 sums stop being exact, so those are refused too.
 */
export function assertAmount(what: string, n: number): void {
  if (typeof n !== 'number' || !(n >= 0 && n <= Number.MAX_SAFE_INTEGER))
    throw new RangeError(`${what} must be a finite number from 0 to 2^53 - 1, got ${String(n)}`);
}

export const emptyRecord = (now: number): LimitRecord => ({
  minute: Math.floor(now / MINUTE_MS),
  requests: 0,
  minuteTokens: 0,
  day: Math.floor(now / DAY_MS),
  dayTokens: 0,
  leases: {},
  applied: [],
});

/**
 * Windows only move forward: a replica whose clock is a little behind counts
 * into the newer window rather than resetting it to its own.
 */
export function roll(r: LimitRecord, now: number): LimitRecord {
  const minute = Math.floor(now / MINUTE_MS);
  const day = Math.floor(now / DAY_MS);
  const leases = Object.fromEntries(Object.entries(r.leases).filter(([, expiresAt]) => expiresAt > now));
  return {
    ...r,
    ...(minute > r.minute ? { minute, requests: 0, minuteTokens: 0 } : {}),
    ...(day > r.day ? { day, dayTokens: 0 } : {}),
    leases,
  };
}

export function usageOf(r: LimitRecord, now: number): Usage {
  return {
    requests: r.requests,
    minuteTokens: r.minuteTokens,
    dayTokens: r.dayTokens,
    inFlight: Object.keys(r.leases).length,
    minuteResetS: Math.max(1, Math.ceil(((r.minute + 1) * MINUTE_MS - now) / 1000)),
    dayResetS: Math.max(1, Math.ceil(((r.day + 1) * DAY_MS - now) / 1000)),
  };
}

/** The first limit (in this order) that `tokens` more and one more request would pass, or undefined. */
function refusal(
  r: LimitRecord,
  limits: Limits,
  tokens: number,
  u: Usage,
): { reason: Exclude<LimitReason, 'busy'>; retryAfterS: number } | undefined {
  const over = (limit: number, value: number) => limit > 0 && value > limit;
  if (over(limits.requestsPerMinute, r.requests + 1))
    return { reason: 'requests_per_minute', retryAfterS: u.minuteResetS };
  if (over(limits.tokensPerMinute, r.minuteTokens + tokens))
    return { reason: 'tokens_per_minute', retryAfterS: u.minuteResetS };
  if (over(limits.tokensPerDay, r.dayTokens + tokens)) return { reason: 'tokens_per_day', retryAfterS: u.dayResetS };
  if (over(limits.maxInFlight, u.inFlight + 1)) return { reason: 'in_flight', retryAfterS: 1 };
  return undefined;
}

/** The record as written by the write `writeId` (the compare-and-set loop names each of its writes). */
export const withWriteId = (r: LimitRecord, writeId: string): LimitRecord => ({
  ...r,
  applied: [...r.applied, writeId].slice(-APPLIED_KEPT),
});

/**
 * Decides one operation against the stored record (undefined: none yet) at
 * `now`: rolls the windows, drops expired leases, then applies all of the
 * operation or none of it. Pure: the compare-and-set loop may run it again.
 */
export function decide(stored: LimitRecord | undefined, op: LimitOp, now: number): Decision {
  const r = roll(stored ?? emptyRecord(now), now);
  const at = { minute: r.minute, day: r.day };
  const done = (record: LimitRecord | undefined): Decision => ({
    ...(record ? { record } : {}),
    verdict: { ok: true, ...at },
    usage: usageOf(record ?? r, now),
  });
  switch (op.kind) {
    case 'admit': {
      assertAmount('a token reservation', op.tokens);
      const usage = usageOf(r, now);
      const refused = refusal(r, op.limits, op.tokens, usage);
      if (refused) return { verdict: { ok: false, ...refused, ...at }, usage };
      return done({
        ...r,
        requests: r.requests + 1,
        minuteTokens: r.minuteTokens + op.tokens,
        dayTokens: r.dayTokens + op.tokens,
        leases: op.limits.maxInFlight > 0 ? { ...r.leases, [op.leaseId]: op.leaseExpiresAt } : r.leases,
      });
    }
    case 'charge': {
      if (!Number.isFinite(op.delta)) throw new RangeError(`a token correction must be finite, got ${op.delta}`);
      // A window that has passed keeps what it counted: the correction belongs to the reservation's own window only.
      return done({
        ...r,
        minuteTokens: r.minute === op.minute ? Math.max(0, r.minuteTokens + op.delta) : r.minuteTokens,
        dayTokens: r.day === op.day ? Math.max(0, r.dayTokens + op.delta) : r.dayTokens,
      });
    }
    case 'release': {
      if (!(op.leaseId in r.leases)) return done(undefined);
      const { [op.leaseId]: _released, ...leases } = r.leases;
      return done({ ...r, leases });
    }
    case 'renew': {
      // A lease that already expired stays gone: its slot may have been given to another request.
      const current = r.leases[op.leaseId];
      if (current === undefined || current >= op.leaseExpiresAt) return done(undefined);
      return done({ ...r, leases: { ...r.leases, [op.leaseId]: op.leaseExpiresAt } });
    }
  }
}

/** A stored value that is not a record (a foreign write, an older format) counts as no record. */
export function asRecord(value: unknown): LimitRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Partial<LimitRecord>;
  const num = (n: unknown) => typeof n === 'number' && Number.isFinite(n) && n >= 0;
  if (![v.minute, v.requests, v.minuteTokens, v.day, v.dayTokens].every(num)) return undefined;
  if (typeof v.leases !== 'object' || v.leases === null || !Object.values(v.leases).every(num)) return undefined;
  if (!Array.isArray(v.applied) || !v.applied.every((id) => typeof id === 'string')) return undefined;
  return v as LimitRecord;
}
