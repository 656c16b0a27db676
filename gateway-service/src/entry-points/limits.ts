/**
 * The per-key limits at the edge: admit or refuse (429 + Retry-After) after the
 * request is validated and before anything is forwarded, put the RateLimit
 * headers on every answer, hold an in-flight slot until the response ends,
 * and settle the reservation once it ends: to what ai-core says every model
 * call of the request spent, to nothing when no model ran, and kept as it is
 * when that cannot be known (ai-core too slow, the caller gone mid-answer).
 */
import type { RequestHandler, Response } from 'express';
import { type Spend, spendTotal } from '@context-qa/common/contract';
import type { AppError } from '@context-qa/common/http';
import type { Caller } from '../domain/api-keys';
import type { CostSizing } from '../domain/cost-estimate';
import { refuse, type OutcomeCode } from '../domain/outcomes';
import { LimitStoreUnavailable, rateLimitHeaders, type Limits, type RateLimiter } from '../domain/rate-limiter';

/** The limiter, and what the cost estimate (domain/cost-estimate.ts) assumes where a request does not say. */
export interface LimitDeps extends CostSizing {
  limiter: RateLimiter;
  defaults: Limits;
  onDecision(decision: 'admitted' | 'refused', reason?: string): void;
  onTokens(keyId: string, model: string, type: 'input' | 'output', n: number): void;
}

/** `estimate` reads the validated body (routes validate before this handler: nothing is counted for a bad request). */
export function limitRequests<B>(deps: LimitDeps, estimate: (body: B, d: CostSizing) => number): RequestHandler {
  return async (req, res, next) => {
    const caller = res.locals['caller'] as Caller;
    const limits: Limits = { ...deps.defaults, ...caller.limits };
    const tokenLimits = [limits.tokensPerMinute, limits.tokensPerDay].filter((l) => l > 0);
    const cost = tokenLimits.length ? estimate(req.body as B, deps) : 0;
    // A request that could never fit is the request's problem, not a wait: no Retry-After.
    if (tokenLimits.some((l) => cost > l)) {
      const detail = `this request may cost ~${cost} tokens, more than this API key's token limit (${Math.min(...tokenLimits)}): lower maxTokens`;
      return next(refuse(res, 'exceeds_token_limit', { detail }));
    }
    let admission;
    try {
      admission = await deps.limiter.admit(caller.id, limits, cost);
    } catch (err) {
      return next(limitsUnavailable(res, err));
    }
    for (const [name, value] of Object.entries(rateLimitHeaders(admission.state))) res.setHeader(name, value);
    if (!admission.ok) {
      deps.onDecision('refused', admission.reason);
      // OpenAI's code for a caller's own quota (a model provider's throttling is `rate_limited`).
      const { reason, retryAfterS } = admission;
      return next(
        refuse(res, 'rate_limit_exceeded', {
          detail: `this API key reached its limit (${reason}); retry after ${retryAfterS} s`,
          retryAfterS,
          extra: { limit: reason },
        }),
      );
    }
    deps.onDecision('admitted');
    const { release, charge } = admission;
    const settle = () => {
      release();
      const spent = settledSpend(res);
      if (spent === undefined) return; // unknown: the reservation stands
      for (const [model, s] of Object.entries(spent)) {
        deps.onTokens(caller.id, model, 'input', s.input);
        deps.onTokens(caller.id, model, 'output', s.output);
      }
      const total = spendTotal(spent);
      if (Number.isSafeInteger(total)) charge(total); // a report past 2^53 cannot be a real spend: the reservation stands
    };
    if (res.closed)
      settle(); // the caller left while we were deciding
    else res.once('close', settle);
    next();
  };
}

/** The limit store down (LimitStoreUnavailable): 503 limits_unavailable with Retry-After; anything else is rethrown. */
export function limitsUnavailable(res: Response, err: unknown): Error {
  if (!(err instanceof LimitStoreUnavailable)) throw err;
  return refuse(res, 'limits_unavailable', { cause: err });
}

/** What ai-core reported every model call of this request spent; a function is read when the response ends (a stream's running count). */
export const noteSpend = (res: Response, spend: Spend | (() => Spend)): void => void (res.locals['spend'] = spend);

/** A call to ai-core; notes when it could not be reached at all (our own sidecar did not answer): then no model ran. */
export async function viaAiCore<T>(res: Response, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if ((err as AppError).extra?.['code'] === ('ai_core_unreachable' satisfies OutcomeCode))
      res.locals['aiCoreUnreachable'] = true;
    throw err;
  }
}

/**
 * The spend to charge once the response has ended: ai-core's report when it
 * sent one; none when no model can have run (refused with a 4xx: our
 * validation, ai-core's own; ai-core unreachable); undefined (the reservation
 * stands) whenever models may have run unseen: a success without ai-core's
 * report, ai-core too slow (504), a bad gateway (502), the caller gone.
 */
function settledSpend(res: Response): Spend | undefined {
  const noted = res.locals['spend'] as Spend | (() => Spend) | undefined;
  if (noted) return typeof noted === 'function' ? noted() : noted;
  if (!res.writableFinished) return undefined;
  const refusedUpFront = res.statusCode >= 400 && res.statusCode < 500 && res.statusCode !== 499;
  return refusedUpFront || res.locals['aiCoreUnreachable'] === true ? {} : undefined;
}
