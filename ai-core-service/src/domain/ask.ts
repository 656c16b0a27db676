import type { AskRequest, AskResponse, ModelName, ModelOutcome } from '@context-qa/common';
import { contextKeyFor, lookupContext, type ContextDeps } from './context';
import type { CallBudget, GenerateRequest } from './ports';
import { buildPrompt } from './prompt';
import { STRATEGY_RUNNERS } from './strategies';

export interface AskDeps {
  context: ContextDeps;
  /** Preference order: answer with the first model that succeeded. */
  preference: readonly ModelName[];
  contextBudgetChars: number;
  defaultMaxTokens: number;
  runModel: (model: ModelName, req: GenerateRequest, budget: CallBudget, opts?: { lostRace?: AbortSignal }) => Promise<ModelOutcome>;
}

/** The request's budget ran out before any model answered (504). */
export class DeadlineExceeded extends Error {
  override name = 'DeadlineExceeded';
  constructor(readonly models: Record<ModelName, ModelOutcome>) {
    super('the request deadline passed before a model answered');
  }
}

/** No model answered: carries every model's outcome for the 503. */
export class NoModelAnswered extends Error {
  override name = 'NoModelAnswered';
  constructor(readonly models: Record<ModelName, ModelOutcome>) {
    super('no model produced an answer');
  }
}

const FAILED = new Set(['error', 'timeout', 'circuit_open']);
const isFailure = (o: ModelOutcome) => FAILED.has(o.status) || o.code === 'overloaded';

/** The use case: context lookup, prompt, models by strategy, pick the answer. */
export async function ask(req: AskRequest, requestId: string, budget: CallBudget, deps: AskDeps): Promise<AskResponse> {
  const key = contextKeyFor(req.prompt, req.contextKey);
  const context = await lookupContext(key, deps.context, budget.signal);
  const prompt = buildPrompt(req.prompt, context.text, deps.contextBudgetChars);
  const generate: GenerateRequest = { ...prompt, maxTokens: req.maxTokens ?? deps.defaultMaxTokens };
  const outcomes = await STRATEGY_RUNNERS[req.strategy](deps.preference, (m, opts) => deps.runModel(m, generate, budget, opts));
  const models = Object.fromEntries(deps.preference.map((m) => [m, outcomes[m]!])) as Record<ModelName, ModelOutcome>;
  const answeredBy = deps.preference.find((m) => models[m]?.status === 'ok');
  // A call capped at the remaining budget can end a moment before the budget's own timer fires.
  const outOfTime = budget.signal.aborted || budget.remainingMs() === 0;
  if (!answeredBy) throw outOfTime ? new DeadlineExceeded(models) : new NoModelAnswered(models);
  return {
    requestId,
    answer: models[answeredBy]?.text ?? '',
    answeredBy,
    strategy: req.strategy,
    degraded: context.degraded || Object.values(models).some(isFailure),
    context: { source: context.source, key },
    models,
  };
}
