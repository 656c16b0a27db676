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
  /** Context tokens a request may carry into the prompt (ai-core's CONTEXT_BUDGET_CHARS / 4). */
  assumedContextTokens: number;
  onDecision(decision: 'admitted' | 'refused', reason?: string): void;
  onTokens(keyId: string, model: string, type: 'input' | 'output', n: number): void;
}

/** Roughly 4 characters a token, as the simulator and the usual tokenizers for English. */
const tokensIn = (chars: number) => Math.ceil(chars / 4);

/** Model calls a strategy (or chat alias) makes: both models, and fuse's synthesis on top. */
const CALLS: Record<string, number> = { both: 2, fastest: 2, sequential: 2, fuse: 3 };
const callsFor = (name: string) => (Object.hasOwn(CALLS, name) ? CALLS[name]! : 1);

/**
 * Cost estimate before any model is called: per model called, the prompt, the
 * context it may carry and the most it may produce. Deliberately high: it is
 * corrected to the reported usage after the answer.
 */
export const estimates = {
  prompt: (req: Request, d: Pick<LimitDeps, 'assumedMaxTokens' | 'assumedContextTokens'>) => {
    const b = (req.body ?? {}) as { prompt?: unknown; maxTokens?: unknown; strategy?: unknown };
    const perModel = tokensIn(typeof b.prompt === 'string' ? b.prompt.length : 0) + d.assumedContextTokens + (typeof b.maxTokens === 'number' ? b.maxTokens : d.assumedMaxTokens);
    return perModel * callsFor(typeof b.strategy === 'string' ? b.strategy : 'both');
  },
  chat: (req: Request, d: Pick<LimitDeps, 'assumedMaxTokens' | 'assumedContextTokens'>) => {
    const b = (req.body ?? {}) as { model?: unknown; messages?: unknown; max_tokens?: unknown; max_completion_tokens?: unknown };
    const max = typeof b.max_completion_tokens === 'number' ? b.max_completion_tokens : typeof b.max_tokens === 'number' ? b.max_tokens : d.assumedMaxTokens;
    const perModel = tokensIn(JSON.stringify(b.messages ?? '').length) + d.assumedContextTokens + max;
    return perModel * callsFor(String(b.model));
  },
};

export function limitRequests(deps: LimitDeps, estimate: (req: Request, d: LimitDeps) => number): RequestHandler {
  return async (req, res, next) => {
    const caller = res.locals['caller'] as Caller;
    const limits: Limits = { ...deps.defaults, ...caller.limits };
    const tokenLimits = [limits.tokensPerMinute, limits.tokensPerDay].filter((l) => l > 0);
    // The estimate reads the whole body: only for keys whose tokens are limited (it is what they reserve).
    const cost = tokenLimits.length ? estimate(req, deps) : 0;
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
      if (!(err instanceof LimitStoreUnavailable)) throw err;
      res.setHeader('retry-after', '1');
      return next(httpError(503, 'limits cannot be checked right now; retry shortly', { code: 'limits_unavailable' }, { cause: err }));
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
    if (res.closed)
      admission.release(); // the caller left while we were deciding
    else res.once('close', admission.release);
    res.locals['charge'] = admission.charge;
    next();
  };
}

/** Corrects the reservation to what the models reported (none for a cache hit) and counts it per key and model. */
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

/** The usage in a /v1/prompt answer: every model call, fuse's synthesis included (a cache hit: none). */
export function promptUsage(answer: AskResponse): { model: string; input: number; output: number }[] {
  if (answer.cache === 'hit') return [];
  const calls = [...Object.entries(answer.models), ...(answer.fusion?.synthesis ? [[answer.fusion.by, answer.fusion.synthesis] as const] : [])];
  return calls.flatMap(([model, o]) => (o.usage ? [{ model, input: o.usage.inputTokens, output: o.usage.outputTokens }] : []));
}
