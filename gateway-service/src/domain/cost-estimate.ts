/**
 * What a request may cost in tokens before any model is called, from the
 * validated request only: per model call, the prompt, the context it may carry
 * and the most it may produce, times the calls its route can make.
 * Deliberately high: the reservation is settled to the real spend afterwards.
 */
import { type AskRequest, estimateTokens } from '@context-qa/common/contract';
import { type ChatRequest, textOf } from '@context-qa/common/openai';
import type { MaxCalls } from './ports';

/** What the estimate assumes where the request does not say. */
export interface CostSizing {
  /** Output tokens assumed when a request does not set its own maximum (ai-core's DEFAULT_MAX_TOKENS). */
  assumedMaxTokens: number;
  /** Context tokens a request may carry into the prompt (ai-core's CONTEXT_BUDGET_CHARS / 4). */
  assumedContextTokens: number;
  /** The most model calls a request to this model, alias or strategy can make (ai-core's table, adapters/call-table.ts). */
  maxCalls: MaxCalls;
}

export const estimates = {
  prompt: (body: AskRequest, d: CostSizing) =>
    (estimateTokens(body.prompt) + d.assumedContextTokens + (body.maxTokens ?? d.assumedMaxTokens)) *
    d.maxCalls(body.strategy),
  chat: (body: ChatRequest, d: CostSizing) =>
    (chatInputTokens(body) +
      d.assumedContextTokens +
      (body.max_completion_tokens ?? body.max_tokens ?? d.assumedMaxTokens)) *
    d.maxCalls(body.model),
};

/** The tokens a chat request's messages may take (its context and the system text ai-core adds aside). */
export const chatInputTokens = (body: ChatRequest): number =>
  body.messages.reduce((n, m) => n + estimateTokens(textOf(m.content)), 0);
