/**
 * ai-core's OpenAI-compatible routes (reached only through Dapr; the gateway
 * authenticates and validates first). Translates a chat request to the answer
 * pipeline's question (`model` picks the route) and its answer to a completion
 * or a stream. Errors here use OpenAI's shape, which the gateway passes through
 * to OpenAI clients.
 */
import type { Request, RequestHandler, Response } from 'express';
import {
  ANSWER_CACHE_HEADER,
  ANSWERED_BY_HEADER,
  CONTEXT_KEY_HEADER,
  contextKeySchema,
} from '@context-qa/common/contract';
import { type Deadline, requestDeadline } from '@context-qa/common/deadline';
import { noteAccess } from '@context-qa/common/http';
import { type ChatRequest, chatRequestSchema, openAiError, textOf } from '@context-qa/common/openai';
import { type Logger, requestContext } from '@context-qa/common/telemetry';
import { randomBytes } from 'node:crypto';
import { noCacheRequested } from '../domain/answer-cache';
import type { Answering } from '../domain/answer/pipeline';
import type { Question } from '../domain/answer/question';
import { UnsupportedRouting } from '../domain/outcomes';
import { routeFor, type ModelCard, type Routing } from '../domain/routing';
import { completion, sendOpenAiError, sseSink } from './chat-wire';
import { answerFailure } from './failures';
import { meterSpend } from './spend-header';
import { tenantOf } from './tenant';

type Routes = { add(method: 'get' | 'post', path: string, ...h: RequestHandler[]): void };

export interface ChatRouteDeps {
  pipeline: Answering;
  routing: Routing;
  /** `GET /v1/models`: concrete models, then routing aliases. */
  models: readonly ModelCard[];
  requestTimeoutMs: number;
  logger: Logger;
  body: RequestHandler[];
}

/** The question a chat asks: the last turn, the application's instructions apart, earlier turns as history. */
export function chatQuestion(req: ChatRequest, routing: Routing, contextKey: string | undefined): Question {
  const route = routeFor(req.model, routing);
  const turns = req.messages.filter((m) => m.role === 'user' || m.role === 'assistant');
  const question = textOf(turns.at(-1)!.content).trim();
  if (!question) throw new UnsupportedRouting('the last user message is empty', 'messages');
  return {
    via: 'chat',
    route,
    question,
    instructions: req.messages
      .filter((m) => m.role === 'system' || m.role === 'developer')
      .map((m) => textOf(m.content)),
    history: turns.slice(0, -1).map((m) => ({ role: m.role, text: textOf(m.content) })),
    contextKey: contextKey ?? req.context_key,
    maxTokens: req.max_completion_tokens ?? req.max_tokens ?? undefined,
    temperature: req.temperature ?? undefined,
    topP: req.top_p ?? undefined,
    stop: typeof req.stop === 'string' ? [req.stop] : (req.stop ?? undefined),
  };
}

export function mountChatRoutes(routes: Routes, deps: ChatRouteDeps): void {
  routes.add('get', '/v1/models', (_req, res) => {
    res.json({ object: 'list', data: deps.models.map((m) => ({ ...m, object: 'model', created: 0 })) });
  });

  routes.add('post', '/v1/chat/completions', ...deps.body, meterSpend, async (req, res) => {
    const parsed = chatRequestSchema.safeParse(req.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return sendOpenAiError(
        res,
        400,
        `${issue.path.join('.') || 'body'}: ${issue.message}`,
        'invalid_request',
        issue.path.join('.') || null,
      );
    }
    const deadline = requestDeadline(req, res, deps.requestTimeoutMs, true);
    // Unique even when callers reuse their x-request-id; still findable by it.
    const meta = {
      id: `chatcmpl-${requestContext.get()?.requestId ?? ''}-${randomBytes(4).toString('hex')}`,
      created: Math.floor(Date.now() / 1000),
    };
    const tenant = tenantOf(res);
    try {
      const question = chatQuestion(parsed.data, deps.routing, contextKeyHeader(req));
      if (!parsed.data.stream) {
        const answer = await deps.pipeline.answer(question, deadline, {
          tenant,
          bypass: noCacheRequested(req.header('cache-control')),
        });
        noteAccess(res, { answeredBy: answer.answeredBy, degraded: answer.degraded });
        res.setHeader(ANSWERED_BY_HEADER, answer.answeredBy);
        res.setHeader(ANSWER_CACHE_HEADER, answer.cache);
        return void res.json(completion(meta, answer.answeredBy, answer.outcome));
      }
      res.setHeader(ANSWER_CACHE_HEADER, 'bypass');
      const sink = sseSink(
        res,
        meta,
        parsed.data.stream_options?.include_usage === true,
        () => deadline.reason === 'deadline',
      );
      const answer = await deps.pipeline.answer(question, deadline, { tenant, sink });
      noteAccess(res, { answeredBy: answer.answeredBy, degraded: answer.degraded });
    } catch (err) {
      if (res.headersSent) {
        // Not by contract (the pipeline throws before a stream's first byte only), but never end a stream quietly.
        deps.logger.error({ err }, 'chat stream failed after it started');
        return void res.end(
          `data: ${JSON.stringify(openAiError(500, 'the answer was cut off', 'internal_error'))}\n\n`,
        );
      }
      sendFailure(res, err, deadline, deps.logger);
    }
  });
}

/** The gateway validated it; an invalid one here (a caller bypassing it) is ignored, never used as a state key. */
const contextKeyHeader = (req: Request): string | undefined => {
  const key = req.header(CONTEXT_KEY_HEADER);
  return key !== undefined && contextKeySchema.safeParse(key).success ? key : undefined;
};

function sendFailure(res: Response, err: unknown, deadline: Deadline, logger: Logger): void {
  const failure = answerFailure(err, deadline);
  if (!failure) {
    logger.error({ err }, 'chat request failed');
    return sendOpenAiError(res, 500, 'unexpected error', 'internal_error');
  }
  if (failure.retryAfterS) res.setHeader('retry-after', String(failure.retryAfterS));
  sendOpenAiError(res, failure.status, failure.message, failure.code, failure.param ?? null);
}
