/**
 * The per-key limits at the edge: admit or refuse (429 + Retry-After) before
 * anything is forwarded, put the RateLimit headers on every answer, hold an
 * in-flight slot until the response ends, and charge the models' reported
 * usage once the answer is known (a cache hit costs none).
 */
import type { Request, RequestHandler, Response } from 'express';
import { httpError, type AskResponse } from '@context-qa/common';
import type { Caller } from '../domain/api-keys';
import { LimitStoreUnavailable, rateLimitHeaders, type Limits, type RateLimiter } from '../domain/rate-limiter';

export interface LimitDeps {
  limiter: RateLimiter;
  defaults: Limits;
  /** Output tokens assumed when a request does not set its own maximum (ai-core's DEFAULT_MAX_TOKENS). */
  assumedMaxTokens: number;
  onDecision(decision: 'admitted' | 'refused', reason?: string): void;
  onTokens(keyId: string, model: string, type: 'input' | 'output', n: number): void;
}

/** Roughly 4 characters a token, as the simulator and the usual tokenizers for English. */
const tokensIn = (chars: number) => Math.ceil(chars / 4);

/** Cost estimate before any model is called: the prompt's size plus the most it may produce. */
export const estimates = {
  prompt: (req: Request, assumed: number) => {
    const b = (req.body ?? {}) as { prompt?: unknown; maxTokens?: unknown };
    return tokensIn(typeof b.prompt === 'string' ? b.prompt.length : 0) + (typeof b.maxTokens === 'number' ? b.maxTokens : assumed);
  },
  chat: (req: Request, assumed: number) => {
    const b = (req.body ?? {}) as { messages?: unknown; max_tokens?: unknown; max_completion_tokens?: unknown };
    const chars = JSON.stringify(b.messages ?? '').length;
    const max = typeof b.max_completion_tokens === 'number' ? b.max_completion_tokens : typeof b.max_tokens === 'number' ? b.max_tokens : assumed;
    return tokensIn(chars) + max;
  },
};

export function limitRequests(deps: LimitDeps, estimate: (req: Request, assumed: number) => number): RequestHandler {
  return async (req, res, next) => {
    const caller = res.locals['caller'] as Caller;
    const limits: Limits = { ...deps.defaults, ...caller.limits };
    let admission;
    try {
      admission = await deps.limiter.admit(caller.id, limits, estimate(req, deps.assumedMaxTokens));
    } catch (err) {
      if (!(err instanceof LimitStoreUnavailable)) throw err;
      res.setHeader('retry-after', '1');
      return next(httpError(503, 'limits cannot be checked right now; retry shortly', { code: 'limits_unavailable' }, { cause: err }));
    }
    for (const [name, value] of Object.entries(rateLimitHeaders(admission.state))) res.setHeader(name, value);
    if (!admission.ok) {
      deps.onDecision('refused', admission.reason);
      res.setHeader('retry-after', String(admission.retryAfterS));
      return next(httpError(429, `this API key reached its limit (${admission.reason}); retry after ${admission.retryAfterS} s`, { code: 'rate_limited', limit: admission.reason }));
    }
    deps.onDecision('admitted');
    res.once('close', admission.release);
    res.locals['charge'] = admission.charge;
    next();
  };
}

/** Charges what the models reported for this request and counts it per key and model. */
export function chargeUsage(res: Response, deps: LimitDeps, usage: { model: string; input: number; output: number }[]): void {
  const keyId = (res.locals['caller'] as Caller | undefined)?.id;
  const charge = res.locals['charge'] as ((tokens: number) => void) | undefined;
  if (!keyId) return;
  for (const u of usage) {
    deps.onTokens(keyId, u.model, 'input', u.input);
    deps.onTokens(keyId, u.model, 'output', u.output);
  }
  charge?.(usage.reduce((sum, u) => sum + u.input + u.output, 0));
}

/** The usage in a /v1/prompt answer: every model that was called (a cache hit: none). */
export function promptUsage(answer: AskResponse): { model: string; input: number; output: number }[] {
  if (answer.cache === 'hit') return [];
  return Object.entries(answer.models).flatMap(([model, o]) => (o.usage ? [{ model, input: o.usage.inputTokens, output: o.usage.outputTokens }] : []));
}
