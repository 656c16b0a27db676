/**
 * Per-key concurrency on this replica, counted right after authentication and
 * before the body is read: a key opening slow-body requests cannot fill the
 * replica's capacity (MAX_IN_FLIGHT), since the shared limiter only sees a
 * request once its body has arrived and been validated. Each replica allows a
 * key up to its whole maxInFlight here (a cheap, local first line); the shared
 * limiter then holds the key to maxInFlight across all replicas.
 */
import type { RequestHandler } from 'express';
import type { Caller } from '../domain/api-keys';
import { refuse } from '../domain/outcomes';
import type { LimitDeps } from './limits';

/** Mount once per replica (one count per key), after authentication, before the body parser. */
export function keyConcurrency(
  deps: Pick<LimitDeps, 'defaults' | 'onDecision'>,
): RequestHandler & { inFlight(keyId: string): number } {
  const inFlight = new Map<string, number>();
  const handler: RequestHandler = (_req, res, next) => {
    const caller = res.locals['caller'] as Caller;
    const max = caller.limits?.maxInFlight ?? deps.defaults.maxInFlight;
    if (max <= 0) return next();
    const now = inFlight.get(caller.id) ?? 0;
    if (now >= max) {
      deps.onDecision('refused', 'in_flight');
      return next(
        refuse(res, 'rate_limit_exceeded', {
          detail: `this API key has ${max} requests in flight; retry after 1 s`,
          retryAfterS: 1,
          extra: { limit: 'in_flight' },
        }),
      );
    }
    inFlight.set(caller.id, now + 1);
    // 'close' also fires when the caller goes away mid-body: the slot is never leaked.
    res.once('close', () => {
      const left = (inFlight.get(caller.id) ?? 1) - 1;
      if (left > 0) inFlight.set(caller.id, left);
      else inFlight.delete(caller.id);
    });
    next();
  };
  return Object.assign(handler, { inFlight: (keyId: string) => inFlight.get(keyId) ?? 0 });
}
