/**
 * What the answer pipeline is asked and what it answers, the same for every
 * route (the entry points translate their wire formats to and from these),
 * and the model request and answer-cache key built from a question.
 */
import type {
  AnswerCacheStatus,
  ContextSource,
  FusionReport,
  ModelName,
  ModelOutcome,
  Tenant,
} from '@context-qa/common/contract';
import { inputFingerprint, type AnswerCache } from '../answer-cache';
import type { GenerateRequest } from '../ports';
import { buildPrompt } from '../prompt';
import type { Route } from '../routing';
import type { Outcomes } from '../strategies';

export interface Question {
  /** The route that asks: its answers are cached apart from the other route's. */
  via: 'prompt' | 'chat';
  route: Route;
  /** The question itself (the prompt, or the chat's last turn). */
  question: string;
  /** The application's own system/developer messages (chat); none on the prompt route. */
  instructions: readonly string[];
  /** Earlier turns, oldest first. */
  history: readonly { role: 'user' | 'assistant'; text: string }[];
  /** The caller's context key; else one derived from the question. */
  contextKey?: string | undefined;
  /** undefined: the configured default. */
  maxTokens?: number | undefined;
  temperature?: number | undefined;
  topP?: number | undefined;
  stop?: string[] | undefined;
}

/** Per request: whose context and cached answers (the gateway's decision, never defaulted here), and the caller's cache wish. */
export interface AnswerOptions {
  tenant: Tenant;
  /** The caller asked to skip the answer cache. */
  bypass?: boolean;
  /** Stream the answer here as it comes (no answer cache; `primary`, `fastest` or one model only). */
  sink?: AnswerSink;
}

/** Where a streamed answer goes: nothing is sent before `start`, so a fallback before it is invisible. */
export interface AnswerSink {
  start(model: ModelName): void;
  delta(text: string): void;
  end(outcome: ModelOutcome): void;
  /** The answering model failed after its first token: the caller must see an error, never a quiet end. */
  fail(outcome: ModelOutcome): void;
}

export interface Answer {
  answeredBy: ModelName;
  /** The answer: the answering model's outcome (fused: the final text, with the synthesis call's usage when one was made). */
  outcome: ModelOutcome;
  /** Every model's outcome, in the route's order. */
  models: Outcomes;
  fusion?: FusionReport;
  /** A model failed, or the context store did: never cached. */
  degraded: boolean;
  cache: AnswerCacheStatus;
  context: { source: ContextSource; key: string };
}

/** The model request: our prompt around the context, the application's instructions after ours, its history and sampling. */
export function generateRequest(
  q: Question,
  context: string | undefined,
  budgetChars: number,
  defaultMaxTokens: number,
): GenerateRequest {
  const prompt = buildPrompt(q.question, context, budgetChars);
  return {
    // The application's own instructions follow ours; they cannot lift the data boundary.
    system: q.instructions.length
      ? `${prompt.system}\n\nInstructions from the application:\n${q.instructions.join('\n')}`
      : prompt.system,
    ...(q.history.length ? { history: [...q.history] } : {}),
    user: prompt.user,
    maxTokens: q.maxTokens ?? defaultMaxTokens,
    ...(q.temperature != null ? { temperature: q.temperature } : {}),
    ...(q.topP != null ? { topP: q.topP } : {}),
    ...(q.stop ? { stop: q.stop } : {}),
  };
}

/** The answer cache's key: everything that changes the answer (the context's content included), per tenant and route. */
export function answerKey(
  cache: AnswerCache,
  tenant: Tenant,
  q: Question,
  context: string | undefined,
  generate: GenerateRequest,
): string {
  return cache.keyFor(tenant, {
    route: q.via,
    models: q.route.order,
    strategy: q.route.strategy,
    input: inputFingerprint({ instructions: q.instructions, history: q.history, question: q.question, context }),
    maxTokens: generate.maxTokens,
    temperature: generate.temperature ?? null,
    topP: generate.topP ?? null,
    stop: generate.stop ?? null,
  });
}

/** What a cached answer holds: the answer without the request's own context source and cache status. */
export type CachedAnswer = Pick<Answer, 'answeredBy' | 'outcome' | 'models' | 'fusion'>;
export const isCachedAnswer = (v: unknown): v is CachedAnswer =>
  typeof (v as CachedAnswer | null)?.answeredBy === 'string' &&
  (v as CachedAnswer).outcome?.status === 'ok' &&
  typeof (v as CachedAnswer).models === 'object';
