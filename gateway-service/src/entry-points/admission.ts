import { httpError } from '@context-qa/common';
import type { RequestHandler } from 'express';

/**
 * Load shedding for the answer routes: beyond `maxInFlight` requests in this
 * replica, a new one is refused at once (503 `overloaded`, Retry-After) before
 * any work (auth, body, limits, ai-core). Past capacity, queueing would only
 * make every answer late; refusing fast keeps the admitted ones within their
 * deadline and tells clients (and the load balancer's retries) to come back.
 */
export function admission(maxInFlight: number, retryAfterS = 1, onRefused: () => void = () => {}): RequestHandler & { readonly inFlight: number } {
  let inFlight = 0;
  const admit: RequestHandler = (_req, res, next) => {
    if (maxInFlight > 0 && inFlight >= maxInFlight) {
      onRefused();
      res.setHeader('retry-after', String(retryAfterS));
      return next(httpError(503, 'the gateway is at capacity; retry shortly', { code: 'overloaded' }));
    }
    inFlight++;
    // 'close' also fires when the caller goes away: the slot is never leaked.
    res.once('close', () => inFlight--);
    next();
  };
  return Object.defineProperty(admit, 'inFlight', { get: () => inFlight }) as RequestHandler & { readonly inFlight: number };
}
