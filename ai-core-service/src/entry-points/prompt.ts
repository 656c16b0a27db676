/**
 * `POST /process`: ai-core's side of the gateway's /v1/prompt. Translates the
 * prompt request to the answer pipeline's question (all preferred models, by
 * the request's strategy) and its answer to the prompt response.
 */
import type { RequestHandler } from 'express';
import {
  ANSWER_CACHE_HEADER,
  type AskRequest,
  askRequestSchema,
  type AskResponse,
  type ModelName,
} from '@context-qa/common/contract';
import { requestDeadline } from '@context-qa/common/deadline';
import { httpError, noteAccess, parseOr400 } from '@context-qa/common/http';
import { type Logger, requestContext } from '@context-qa/common/telemetry';
import { noCacheRequested } from '../domain/answer-cache';
import type { Answering } from '../domain/answer/pipeline';
import type { Answer, AnswerOptions, Question } from '../domain/answer/question';
import type { CallBudget } from '../domain/ports';
import { answerFailure } from './failures';
import { meterSpend } from './spend-header';
import { tenantOf } from './tenant';

type Routes = { add(method: 'post', path: string, ...h: RequestHandler[]): void };

export interface PromptRouteDeps {
  pipeline: Answering;
  /** The models a prompt asks, in preference order. */
  preference: readonly ModelName[];
  requestTimeoutMs: number;
  logger: Logger;
  body: RequestHandler[];
}

const promptQuestion = (req: AskRequest, preference: readonly ModelName[]): Question => ({
  via: 'prompt',
  route: { order: preference, strategy: req.strategy },
  question: req.prompt,
  instructions: [],
  history: [],
  contextKey: req.contextKey,
  maxTokens: req.maxTokens,
});

const promptResponse = (requestId: string, req: AskRequest, a: Answer): AskResponse => ({
  requestId,
  answer: a.outcome.text ?? '',
  answeredBy: a.answeredBy,
  strategy: req.strategy,
  degraded: a.degraded,
  context: a.context,
  models: a.models,
  cache: a.cache,
  ...(a.fusion ? { fusion: a.fusion } : {}),
});

/** The prompt route's use of the pipeline, request in, response out; the body flag `cache: false` is a wish to bypass like Cache-Control: no-cache. */
export async function answerPrompt(
  pipeline: Answering,
  preference: readonly ModelName[],
  req: AskRequest,
  requestId: string,
  budget: CallBudget,
  opts: AnswerOptions,
): Promise<AskResponse> {
  const answer = await pipeline.answer(promptQuestion(req, preference), budget, {
    ...opts,
    bypass: opts.bypass === true || req.cache === false,
  });
  return promptResponse(requestId, req, answer);
}

export function mountPromptRoute(routes: Routes, deps: PromptRouteDeps): void {
  routes.add('post', '/process', ...deps.body, meterSpend, async (req, res) => {
    const input = parseOr400(askRequestSchema, req.body);
    const requestId = requestContext.get()?.requestId ?? '';
    const deadline = requestDeadline(req, res, deps.requestTimeoutMs, true);
    try {
      const opts = { tenant: tenantOf(res), bypass: noCacheRequested(req.header('cache-control')) };
      const answer = await answerPrompt(deps.pipeline, deps.preference, input, requestId, deadline, opts);
      noteAccess(res, { answeredBy: answer.answeredBy, degraded: answer.degraded });
      res.setHeader(ANSWER_CACHE_HEADER, answer.cache);
      if (answer.degraded) {
        const cause = degradedCause(answer);
        deps.logger.warn({ degraded: true, cause }, 'degraded answer');
        // The fallback, on the request's trace: which models failed and how, and who answered instead.
        requestContext.get()?.span?.addEvent('context_qa.fallback', {
          'context_qa.answered_by': answer.answeredBy,
          'context_qa.failed_models': Object.entries(cause.models).map(([m, o]) => `${m}:${o.code ?? o.status}`),
          'context_qa.context_source': cause.context,
        });
      }
      res.json(answer);
    } catch (err) {
      const failure = answerFailure(err, deadline);
      if (!failure) throw err;
      if (failure.retryAfterS) res.setHeader('retry-after', String(failure.retryAfterS));
      throw httpError(failure.status, failure.message, {
        code: failure.code,
        ...(failure.models ? { models: failure.models } : {}),
      });
    }
  });
}

/** Why an answer is degraded: each model that did not answer, with status and code; the context source. Never text. */
function degradedCause(answer: AskResponse) {
  const models = Object.fromEntries(
    Object.entries(answer.models)
      .filter(([, o]) => o.status !== 'ok')
      .map(([m, o]) => [m, { status: o.status, ...(o.code ? { code: o.code } : {}) }]),
  );
  return { models, context: answer.context.source };
}
