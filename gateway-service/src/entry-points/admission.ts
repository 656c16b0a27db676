/**
 * Per-replica load shedding in front of the answer routes: new requests are refused at once (503 overloaded)
 * when too many answers are in flight or the event loop runs late, before any auth, body or limit work.
 */
import type { RequestHandler } from 'express';
import { refuse } from '../domain/outcomes';

export type RefusedBecause = 'in_flight' | 'event_loop_lag';

export interface AdmissionOptions {
  /** Answer requests in flight beyond which a new one is refused; 0: no limit. */
  maxInFlight: number;
  /** Event-loop delay (ms, smoothed) beyond which new requests are refused while answers are under way; 0: not watched. */
  maxLagMs: number;
  retryAfterS?: number;
  onRefused?: (why: RefusedBecause) => void;
  /** The current event-loop delay in ms (default: eventLoopLag(); tests pass their own). */
  lag?: () => number;
}

/**
 * Load shedding for the answer routes: a new request is refused at once (503
 * `overloaded`, Retry-After) before any work (auth, body, limits, ai-core) when
 * `maxInFlight` answers are already under way in this replica, or when its event
 * loop is running late. The second catches what a fixed count cannot: when the
 * process itself is short of CPU, every request (a refusal too) first waits its
 * turn in the loop, so admitting more only makes every answer and every refusal
 * later; refusing until the loop catches up frees the CPU the answers would take.
 */
export function admission(opts: AdmissionOptions): RequestHandler & { readonly inFlight: number } {
  const { maxInFlight, maxLagMs, retryAfterS = 1, onRefused = () => {} } = opts;
  const lag = opts.lag ?? (maxLagMs > 0 ? eventLoopLag() : () => 0);
  // A late loop with few answers under way is not their doing (GC, scrapes, admin calls): admit those.
  const lagFloor = Math.max(1, Math.floor(maxInFlight / 8));
  let inFlight = 0;
  const refusal = (): 'in_flight' | 'event_loop_lag' | undefined => {
    if (maxInFlight > 0 && inFlight >= maxInFlight) return 'in_flight';
    return maxLagMs > 0 && inFlight >= lagFloor && lag() > maxLagMs ? 'event_loop_lag' : undefined;
  };
  const admit: RequestHandler = (_req, res, next) => {
    const why = refusal();
    if (why) {
      onRefused(why);
      return next(refuse(res, 'overloaded', { retryAfterS }));
    }
    inFlight++;
    // 'close' also fires when the caller goes away: the slot is never leaked.
    res.once('close', () => inFlight--);
    next();
  };
  return Object.defineProperty(admit, 'inFlight', { get: () => inFlight }) as RequestHandler & {
    readonly inFlight: number;
  };
}

/**
 * How late this process's event loop runs, in ms: a timer every `intervalMs`
 * notes how much later than due it fired, exponentially smoothed (`weight` per
 * tick: ~60 ms time constant by default), so a loop that stays behind shows
 * within a few ticks and a short pause fades as fast. A pause of P ms reads as
 * weight × P at first: size the limit above the pauses to tolerate.
 */
export function eventLoopLag(intervalMs = 20, weight = 0.3): () => number {
  let due = performance.now() + intervalMs;
  let lagMs = 0;
  setInterval(() => {
    const now = performance.now();
    lagMs = lagMs * (1 - weight) + Math.max(0, now - due) * weight;
    due = now + intervalMs;
  }, intervalMs).unref();
  return () => lagMs;
}
