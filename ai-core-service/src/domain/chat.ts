/**
 * The OpenAI-compatible chat use case: the same context and prompt as `ask`,
 * a model or routing alias instead of a strategy field, and a streamed variant
 * whose fallback happens before the first token reaches the caller.
 */
import { type AnswerCacheStatus, type ModelName, type ModelOutcome, type Strategy, type Tenant, tenantStoreKey } from '@context-qa/common/contract';
import { type ChatRequest, textOf } from '@context-qa/common/openai';
import { inputFingerprint, type AnswerCache, type CacheRequest } from './answer-cache';
import { isFailure, noAnswer } from './ask';
import { contextKeyFor, lookupContext, type ContextDeps, type ContextLookup } from './context';
import type { CallBudget, GenerateRequest } from './ports';
import { buildPrompt } from './prompt';
import { fuseDrafts } from './fuse';
import { STRATEGY_RUNNERS, type Outcomes } from './strategies';

/** Routing aliases: each is a strategy over the preference order. */
export const ALIASES = { auto: undefined, primary: 'primary', fastest: 'fastest', both: 'both', sequential: 'sequential', fuse: 'fuse' } as const;
export type Alias = keyof typeof ALIASES;
/** What a stream can do: one model at a time, or a race to the first token. */
export const STREAM_STRATEGIES = new Set<Strategy>(['primary', 'fastest']);

export interface ChatDeps {
  context: ContextDeps;
  preference: readonly ModelName[];
  /** The strategy behind `auto`. */
  autoStrategy: Strategy;
  /** Strategy fuse: drafts at least this similar agree. */
  agreementThreshold: number;
  contextBudgetChars: number;
  defaultMaxTokens: number;
  runModel: (model: ModelName, req: GenerateRequest, budget: CallBudget, opts?: { lostRace?: AbortSignal }) => Promise<ModelOutcome>;
  streamModel: (model: ModelName, req: GenerateRequest, budget: CallBudget, opts: { lostRace?: AbortSignal; onDelta: (text: string) => void }) => Promise<ModelOutcome>;
  /** The exact-match answer cache (non-streamed completions only); absent: no caching. */
  answers?: AnswerCache;
}

export class UnknownModel extends Error {
  override name = 'UnknownModel';
}

/** The request asks for something its route cannot do (a 400 naming the field). */
export class UnsupportedRouting extends Error {
  override name = 'UnsupportedRouting';
  constructor(
    message: string,
    readonly param = 'stream',
  ) {
    super(message);
  }
}

export interface Route {
  order: readonly ModelName[];
  strategy: Strategy;
}

/** `model` → which models, in which order, by which strategy. A concrete model answers alone. */
export function routeFor(model: string, deps: Pick<ChatDeps, 'preference' | 'autoStrategy'>): Route {
  if (deps.preference.includes(model)) return { order: [model], strategy: 'primary' };
  if (Object.hasOwn(ALIASES, model)) return { order: deps.preference, strategy: ALIASES[model as Alias] ?? deps.autoStrategy };
  throw new UnknownModel(`the model "${model}" does not exist`);
}

export interface PreparedChat {
  route: Route;
  generate: GenerateRequest;
  /** The last user message (fuse's synthesis asks it again). */
  question: string;
  context: ContextLookup & { key: string };
  /** The answer cache's key: set when the cache is on and the context is known (its store answered). */
  cacheKey?: string;
}

/** Whose context and cached answers (the gateway's decision) and, from the x-context-key header, which context. */
export interface ChatScope {
  tenant: Tenant;
  contextKey?: string | undefined;
}

/** Routing, context lookup and prompt: everything before a model is called. */
export async function prepareChat(req: ChatRequest, scope: ChatScope, budget: CallBudget, deps: ChatDeps): Promise<PreparedChat> {
  const route = routeFor(req.model, deps);
  if (req.stream && !STREAM_STRATEGIES.has(route.strategy)) {
    throw new UnsupportedRouting(`"${req.model}" (${route.strategy}) cannot stream: stream with "primary", "fastest" or one model`);
  }
  const turns = req.messages.filter((m) => m.role === 'user' || m.role === 'assistant');
  const question = textOf(turns.at(-1)!.content).trim();
  if (!question) throw new UnsupportedRouting('the last user message is empty', 'messages');
  const instructions = req.messages.filter((m) => m.role === 'system' || m.role === 'developer').map((m) => textOf(m.content));
  const key = contextKeyFor(question, scope.contextKey ?? req.context_key);
  const context = await lookupContext(tenantStoreKey(scope.tenant, key), deps.context, budget.signal);
  const prompt = buildPrompt(question, context.text, deps.contextBudgetChars);
  const stop = req.stop == null ? undefined : typeof req.stop === 'string' ? [req.stop] : req.stop;
  const generate: GenerateRequest = {
    // The application's own instructions follow ours; they cannot lift the data boundary.
    system: instructions.length ? `${prompt.system}\n\nInstructions from the application:\n${instructions.join('\n')}` : prompt.system,
    history: turns.slice(0, -1).map((m) => ({ role: m.role, text: textOf(m.content) })),
    user: prompt.user,
    maxTokens: req.max_completion_tokens ?? req.max_tokens ?? deps.defaultMaxTokens,
    ...(req.temperature != null ? { temperature: req.temperature } : {}),
    ...(req.top_p != null ? { topP: req.top_p } : {}),
    ...(stop ? { stop } : {}),
  };
  const history = generate.history ?? [];
  const cacheKey =
    deps.answers?.enabled && !context.degraded
      ? deps.answers.keyFor(scope.tenant, {
          route: 'chat',
          models: route.order,
          strategy: route.strategy,
          input: inputFingerprint({ instructions, history, question, context: context.text }),
          maxTokens: generate.maxTokens,
          temperature: generate.temperature ?? null,
          topP: generate.topP ?? null,
          stop: generate.stop ?? null,
        })
      : undefined;
  return { route, generate, question, context: { ...context, key }, ...(cacheKey ? { cacheKey } : {}) };
}

type CachedCompletion = { model: ModelName; outcome: ModelOutcome };
const isCachedCompletion = (v: unknown): v is CachedCompletion => typeof (v as CachedCompletion | null)?.model === 'string' && (v as CachedCompletion).outcome?.status === 'ok';

/**
 * Non-streamed: the answer cache first (unless bypassed), else the route's
 * strategy; the first model in its order that answered. An answer with no
 * failed model is cached.
 */
export async function chat(
  prepared: PreparedChat,
  budget: CallBudget,
  deps: ChatDeps,
  opts: CacheRequest = {},
): Promise<{ model: ModelName; outcome: ModelOutcome; models: Outcomes; cache: AnswerCacheStatus }> {
  const { route, generate } = prepared;
  const answers = deps.answers;
  const cacheKey = opts.bypass ? undefined : prepared.cacheKey;
  const { cache, hit } = answers ? await answers.consult(cacheKey, budget.signal, isCachedCompletion) : { cache: 'bypass' as AnswerCacheStatus };
  if (hit) return { model: hit.model, outcome: hit.outcome, models: { [hit.model]: hit.outcome }, cache };
  const models = await STRATEGY_RUNNERS[route.strategy](route.order, (m, opts) => deps.runModel(m, generate, budget, opts));
  const fused =
    route.strategy === 'fuse'
      ? await fuseDrafts(models, { question: prepared.question, context: prepared.context.text, maxTokens: generate.maxTokens }, budget, { ...deps, preference: route.order })
      : undefined;
  const model = fused?.answeredBy ?? route.order.find((m) => models[m]?.status === 'ok');
  if (!model) throw noAnswer(budget, models);
  // Fused: the final text, with the synthesis call's usage when one was made.
  const outcome: ModelOutcome = fused ? { ...(fused.fusion.synthesis ?? models[model]!), status: 'ok', text: fused.answer } : models[model]!;
  const failed = fused?.degraded === true || Object.values(models).some(isFailure);
  // Degraded answers (a model failed, or the context store did: then there is no cacheKey) are never cached.
  if (answers && cacheKey !== undefined && !failed) void answers.save(cacheKey, { model, outcome } satisfies CachedCompletion);
  return { model, outcome, models, cache };
}

/** Where a streamed answer goes: nothing is sent before `start`, so a fallback before it is invisible. */
export interface ChatSink {
  start(model: ModelName): void;
  delta(text: string): void;
  end(outcome: ModelOutcome): void;
  /** The answering model failed after its first token: the caller must see an error, never a quiet end. */
  fail(outcome: ModelOutcome): void;
}

/**
 * Streamed. `primary`: one model after the other until one produces a token.
 * `fastest`: all start, the first token wins and the others are told they
 * lost. Once a token is out, a failure ends the stream with an error.
 * Throws (nothing sent yet) when no model produced a token.
 */
export async function streamChat(prepared: PreparedChat, budget: CallBudget, deps: ChatDeps, sink: ChatSink): Promise<{ model: ModelName; models: Outcomes }> {
  const { route, generate } = prepared;
  const models: Outcomes = {};
  // One signal per model: a win stops the others, never the winner's own stream.
  const lost = new Map(route.order.map((m) => [m, new AbortController()]));
  let winner: ModelName | undefined;
  const win = (m: ModelName) => {
    winner = m;
    if (route.strategy === 'fastest') lost.forEach((c, other) => other !== m && c.abort());
    sink.start(m);
  };
  const run = async (m: ModelName): Promise<void> => {
    // A runner never rejects by contract; should one, it is that model's failure, not a hung request.
    const outcome = await deps
      .streamModel(m, generate, budget, {
        lostRace: lost.get(m)!.signal,
        onDelta: (text) => {
          if (winner === undefined) win(m);
          if (winner === m) sink.delta(text);
        },
      })
      .catch((): ModelOutcome => ({ status: 'error', code: 'upstream_error', latencyMs: 0 }));
    models[m] = outcome;
    if (winner === undefined && outcome.status === 'ok') win(m); // an empty answer is still an answer
  };

  if (route.strategy === 'fastest') {
    // Settles when the winner's stream has ended, or when every model ended without a token.
    await new Promise<void>((resolve) => {
      let ended = 0;
      for (const m of route.order) {
        void run(m).then(() => {
          if (winner === m || (winner === undefined && ++ended === route.order.length)) resolve();
        });
      }
    });
  } else {
    for (const m of route.order) {
      await run(m);
      if (winner !== undefined) break;
    }
  }
  if (winner === undefined) throw noAnswer(budget, models);
  const outcome = models[winner]!;
  if (outcome.status === 'ok') sink.end(outcome);
  else sink.fail(outcome);
  return { model: winner, models };
}
