/**
 * The OpenAI-compatible surface: `POST /v1/chat/completions` and
 * `GET /v1/models`. Same API keys (OpenAI SDKs send `Authorization: Bearer`),
 * scopes and request ids as the rest; errors in OpenAI's shape. The request is
 * validated here and relayed to ai-core (relay.ts); a stream is relayed chunk
 * by chunk as it arrives.
 */
import type { Request, RequestHandler } from 'express';
import { AI_CORE_ROUTES, CONTEXT_KEY_HEADER, contextKeySchema } from '@context-qa/common/contract';
import { type ChatRequest, chatRequestSchema, openAiError } from '@context-qa/common/openai';
import { chatInputTokens, estimates } from '../domain/cost-estimate';
import { limitRequests } from './limits';
import { aiCoreFor, relayStream, relayWhole } from './relay';
import type { RouteKit, Routes } from './route-kit';

/** The caller's headers ai-core should see: the context key to use, and Cache-Control (no-cache: ai-core skips its answer cache). */
function passedOn(req: Request): Record<string, string> {
  const contextKey = req.header(CONTEXT_KEY_HEADER);
  const cacheControl = req.header('cache-control');
  return {
    ...(contextKey ? { [CONTEXT_KEY_HEADER]: contextKey } : {}),
    ...(cacheControl ? { 'cache-control': cacheControl } : {}),
  };
}

/** Bad requests are refused before they count against a key's limits. */
const validate: RequestHandler = (req, res, next) => {
  const parsed = chatRequestSchema.safeParse(req.body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param = issue.path.join('.') || null;
    return void res
      .status(400)
      .json(openAiError(400, `${param ?? 'body'}: ${issue.message}`, 'invalid_request', param));
  }
  const headerKey = req.header(CONTEXT_KEY_HEADER);
  if (headerKey !== undefined && !contextKeySchema.safeParse(headerKey).success) {
    return void res
      .status(400)
      .json(
        openAiError(
          400,
          `${CONTEXT_KEY_HEADER}: 1–512 characters, without "||"`,
          'invalid_request',
          CONTEXT_KEY_HEADER,
        ),
      );
  }
  req.body = parsed.data;
  next();
};

export function mountChatRoutes(routes: Routes, s: RouteKit): void {
  routes.add('get', '/v1/models', s.auth('ask'), async (req, res) => {
    relayWhole(res, await aiCoreFor(s, req, res, passedOn(req)).send('GET', AI_CORE_ROUTES.models.path), 'openai');
  });

  routes.add(
    'post',
    '/v1/chat/completions',
    s.admit,
    s.auth('ask'),
    s.perKey,
    ...s.body,
    validate,
    limitRequests(s.limits, estimates.chat),
    async (req, res) => {
      const aiCore = aiCoreFor(s, req, res, passedOn(req));
      const out = await aiCore.open('POST', AI_CORE_ROUTES.chatCompletions.path, req.body);
      if (!('stream' in out)) return relayWhole(res, out, 'openai');
      const assumedInput = chatInputTokens(req.body as ChatRequest) + s.limits.assumedContextTokens;
      await relayStream(res, out.stream, aiCore.deadline, s.logger, assumedInput);
    },
  );
}
