/**
 * The per-key limits at the edge: admit or refuse (429 + Retry-After) after the
 * request is validated and before anything is forwarded, put the RateLimit
 * headers on every answer, hold an in-flight slot until the response ends,
 * and settle the reservation once it ends: to what ai-core says every model
 * call of the request spent, to nothing when no model ran, and kept as it is
 * when that cannot be known (ai-core too slow, the caller gone mid-answer).
 */
import type { RequestHandler, Response } from 'express';
import { type AskRequest, estimateTokens, type Spend, spendTotal } from '@context-qa/common/contract';
import { type AppError, httpError } from '@context-qa/common/http';
import { type ChatRequest, textOf } from '@context-qa/common/openai';
import type { Caller } from '../domain/api-keys';
import { LimitStoreUnavailable, rateLimitHeaders, type Limits, type RateLimiter } from '../domain/rate-limiter';

export interface LimitDeps {
  limiter: RateLimiter;
  defaults: Limits;
  /** Output tokens assumed when a request does not set its own maximum (ai-core's DEFAULT_MAX_TOKENS). */
  assumedMaxTokens: number;
  /** Context tokens a request may carry into the prompt (ai-core's CONTEXT_BUDGET_CHARS / 4). */
  assumedContextTokens: number;
  /** The most model calls a request to this model, alias or strategy can make (ai-core's table, adapters/call-table.ts). */
  maxCalls(modelOrStrategy: string): number;
  onDecision(decision: 'admitted' | 'refused', reason?: string): void;
  onTokens(keyId: string, model: string, type: 'input' | 'output', n: number): void;
}

type Sizing = Pick<LimitDeps, 'assumedMaxTokens' | 'assumedContextTokens' | 'maxCalls'>;

/**
 * Cost estimates before any model is called, from the validated request only:
 * per model call, the prompt, the context it may carry and the most it may
 * produce, times the calls its route can make. Deliberately high: the
 * reservation is settled to the real spend afterwards.
 */
export const estimates = {
  prompt: (body: AskRequest, d: Sizing) => (estimateTokens(body.prompt) + d.assumedContextTokens + (body.maxTokens ?? d.assumedMaxTokens)) * d.maxCalls(body.strategy),
  chat: (body: ChatRequest, d: Sizing) =>
    (chatInputTokens(body) + d.assumedContextTokens + (body.max_completion_tokens ?? body.max_tokens ?? d.assumedMaxTokens)) * d.maxCalls(body.model),
};

/** The tokens a chat request's messages may take (its context and the system text ai-core adds aside). */
export const chatInputTokens = (body: ChatRequest): number => body.messages.reduce((n, m) => n + estimateTokens(textOf(m.content)), 0);

/** `estimate` reads the validated body (routes validate before this handler: nothing is counted for a bad request). */
export function limitRequests<B>(deps: LimitDeps, estimate: (body: B, d: Sizing) => number): RequestHandler {
  return async (req, res, next) => {
    const caller = res.locals['caller'] as Caller;
    const limits: Limits = { ...deps.defaults, ...caller.limits };
    const tokenLimits = [limits.tokensPerMinute, limits.tokensPerDay].filter((l) => l > 0);
    const cost = tokenLimits.length ? estimate(req.body as B, deps) : 0;
    // A request that could never fit is the request's problem, not a wait: no Retry-After.
    if (tokenLimits.some((l) => cost > l)) {
      return next(
        httpError(400, `this request may cost ~${cost} tokens, more than this API key's token limit (${Math.min(...tokenLimits)}): lower maxTokens`, {
          code: 'exceeds_token_limit',
        }),
      );
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
      res.setHeader('retry-after', String(admission.retryAfterS));
      // OpenAI's code for a caller's own quota (a model provider's throttling is `rate_limited`).
      return next(
        httpError(429, `this API key reached its limit (${admission.reason}); retry after ${admission.retryAfterS} s`, { code: 'rate_limit_exceeded', limit: admission.reason }),
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
  res.setHeader('retry-after', '1');
  return httpError(503, 'limits cannot be checked right now; retry shortly', { code: 'limits_unavailable' }, { cause: err });
}

/** What ai-core reported every model call of this request spent; a function is read when the response ends (a stream's running count). */
export const noteSpend = (res: Response, spend: Spend | (() => Spend)): void => void (res.locals['spend'] = spend);

/** A call to ai-core; notes when it could not be reached at all (our own sidecar did not answer): then no model ran. */
export async function viaAiCore<T>(res: Response, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if ((err as AppError).extra?.['code'] === 'ai_core_unreachable') res.locals['aiCoreUnreachable'] = true;
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

/** The sketch route's ?prompt=… becomes the body before it is validated. */
export const queryPrompt: RequestHandler = (req, _res, next) => {
  if (req.body === undefined && typeof req.query['prompt'] === 'string') req.body = { prompt: req.query['prompt'] };
  next();
};
