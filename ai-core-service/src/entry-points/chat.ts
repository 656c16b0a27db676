/**
 * ai-core's OpenAI-compatible routes (reached only through Dapr; the gateway
 * authenticates and validates first). Errors here use OpenAI's shape, which
 * the gateway passes through to OpenAI clients.
 */
import type { Request, RequestHandler, Response } from 'express';
import { ANSWER_CACHE_HEADER, ANSWERED_BY_HEADER, type CallTableEntry, CONTEXT_KEY_HEADER, contextKeySchema, type ModelOutcome } from '@context-qa/common/contract';
import { type Deadline, requestDeadline } from '@context-qa/common/deadline';
import { noteAccess } from '@context-qa/common/http';
import { type ChatRequest, chatRequestSchema, openAiError } from '@context-qa/common/openai';
import { type Logger, requestContext } from '@context-qa/common/telemetry';
import { randomBytes } from 'node:crypto';
import { noCacheRequested, type AnswerCacheStatus, type CacheRequest } from '../domain/answer-cache';
import type { ChatScope, ChatSink, PreparedChat } from '../domain/chat';
import type { Outcomes } from '../domain/strategies';
import { completion, sendOpenAiError, sseSink } from './chat-wire';
import { answerFailure } from './failures';
import { meterSpend } from './spend-header';
import { tenantOf } from './tenant';

export interface ChatService {
  prepare(req: ChatRequest, scope: ChatScope, budget: Deadline): Promise<PreparedChat>;
  /** The answer cache applies here only; `opts.bypass`: the caller sent Cache-Control: no-cache. */
  complete(prepared: PreparedChat, budget: Deadline, opts?: CacheRequest): Promise<{ model: string; outcome: ModelOutcome; models: Outcomes; cache: AnswerCacheStatus }>;
  /** Streams never use the answer cache (x-context-qa-cache: bypass). */
  stream(prepared: PreparedChat, budget: Deadline, sink: ChatSink): Promise<{ model: string; models: Outcomes }>;
  /** `GET /v1/models`: concrete models, then routing aliases. */
  models(): (CallTableEntry & { owned_by: string })[];
}

type Routes = { add(method: 'get' | 'post', path: string, ...h: RequestHandler[]): void };

export function mountChatRoutes(routes: Routes, deps: { chat: ChatService; requestTimeoutMs: number; logger: Logger; body: RequestHandler[] }): void {
  routes.add('get', '/v1/models', (_req, res) => {
    res.json({ object: 'list', data: deps.chat.models().map((m) => ({ ...m, object: 'model', created: 0 })) });
  });

  routes.add('post', '/v1/chat/completions', ...deps.body, meterSpend, async (req, res) => {
    const parsed = chatRequestSchema.safeParse(req.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return sendOpenAiError(res, 400, `${issue.path.join('.') || 'body'}: ${issue.message}`, 'invalid_request', issue.path.join('.') || null);
    }
    const deadline = requestDeadline(req, res, deps.requestTimeoutMs, true);
    // Unique even when callers reuse their x-request-id; still findable by it.
    const meta = { id: `chatcmpl-${requestContext.get()?.requestId ?? ''}-${randomBytes(4).toString('hex')}`, created: Math.floor(Date.now() / 1000) };
    try {
      const prepared = await deps.chat.prepare(parsed.data, { tenant: tenantOf(res), contextKey: contextKeyHeader(req) }, deadline);
      noteAccess(res, { degraded: prepared.context.degraded });
      if (!parsed.data.stream) {
        const { model, outcome, cache } = await deps.chat.complete(prepared, deadline, { bypass: noCacheRequested(req.header('cache-control')) });
        noteAccess(res, { answeredBy: model });
        res.setHeader(ANSWERED_BY_HEADER, model);
        res.setHeader(ANSWER_CACHE_HEADER, cache);
        return void res.json(completion(meta, model, outcome));
      }
      res.setHeader(ANSWER_CACHE_HEADER, 'bypass');
      const sink = sseSink(res, meta, parsed.data.stream_options?.include_usage === true, () => deadline.reason === 'deadline');
      const { model } = await deps.chat.stream(prepared, deadline, sink);
      noteAccess(res, { answeredBy: model });
    } catch (err) {
      if (res.headersSent) {
        // Not by contract (streamChat throws before its first byte only), but never end a stream quietly.
        deps.logger.error({ err }, 'chat stream failed after it started');
        return void res.end(`data: ${JSON.stringify(openAiError(500, 'the answer was cut off', 'internal_error'))}\n\n`);
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
