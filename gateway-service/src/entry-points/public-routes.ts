/**
 * The public API: asking (`POST /v1/prompt`, the original sketch's `/prompt`)
 * and the OpenAI-compatible routes (chat.ts). Each request is admitted,
 * authenticated, validated and limited before ai-core is called.
 */
import type { RequestHandler } from 'express';
import { AI_CORE_ROUTES, type AskRequest, askRequestSchema, type AskResponse } from '@context-qa/common/contract';
import { noteAccess, parseOr400 } from '@context-qa/common/http';
import { estimates } from '../domain/cost-estimate';
import { mountChatRoutes } from './chat';
import { limitRequests } from './limits';
import { aiCoreFor, relayWhole } from './relay';
import type { RouteKit, Routes } from './route-kit';

/** Validated before any limit is taken: a bad request is refused without counting against its key. */
const validAsk: RequestHandler = (req, _res, next) => {
  req.body = parseOr400(askRequestSchema, req.body);
  next();
};

/** The sketch route's ?prompt=… becomes the body before it is validated. */
const queryPrompt: RequestHandler = (req, _res, next) => {
  if (req.body === undefined && typeof req.query['prompt'] === 'string') req.body = { prompt: req.query['prompt'] };
  next();
};

/** The sketch route's answer keys, beside ours. */
const withSketchKeys = (b: AskResponse) => ({
  ...b,
  llama: b.models.llama4?.text ?? '',
  gpt4: b.models.gpt4?.text ?? '',
});

export function mountPublicRoutes(routes: Routes, kit: RouteKit): void {
  mountChatRoutes(routes, kit);

  const answer =
    (map?: (b: AskResponse) => unknown): RequestHandler =>
    async (req, res) => {
      // The caller's Cache-Control (no-cache: skip the answer cache) is ai-core's to judge.
      const cacheControl = req.header('cache-control');
      const out = await aiCoreFor(kit, req, res, cacheControl ? { 'cache-control': cacheControl } : {}).send(
        'POST',
        AI_CORE_ROUTES.process.path,
        req.body as AskRequest,
      );
      const answered = out.body as AskResponse;
      if (out.status < 300) noteAccess(res, { answeredBy: answered.answeredBy, degraded: answered.degraded });
      relayWhole(res, out, 'problem', map);
    };
  const ask = [kit.admit, kit.auth('ask'), kit.perKey, ...kit.body];
  const limit = limitRequests(kit.limits, estimates.prompt);
  routes.add('post', '/v1/prompt', ...ask, validAsk, limit, answer());
  routes.add('post', '/prompt', ...ask, queryPrompt, validAsk, limit, answer(withSketchKeys));
}
