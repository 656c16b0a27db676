import { type AnswerCacheStatus, type AskRequest, type AskResponse, type ModelName, type ModelOutcome, type Tenant, tenantStoreKey } from '@context-qa/common/contract';
import { inputFingerprint, type AnswerCache, type CacheRequest } from './answer-cache';
import { contextKeyFor, lookupContext, type ContextDeps } from './context';
import type { CallBudget, GenerateRequest } from './ports';
import { buildPrompt } from './prompt';
import { fuseDrafts } from './fuse';
import { STRATEGY_RUNNERS } from './strategies';

export interface AskDeps {
  context: ContextDeps;
  /** Preference order: answer with the first model that succeeded. */
  preference: readonly ModelName[];
  contextBudgetChars: number;
  defaultMaxTokens: number;
  runModel: (model: ModelName, req: GenerateRequest, budget: CallBudget, opts?: { lostRace?: AbortSignal }) => Promise<ModelOutcome>;
  /** The exact-match answer cache; absent: no caching. */
  answers?: AnswerCache;
  /** Strategy fuse: drafts at least this similar agree (FUSE_AGREEMENT_THRESHOLD). */
  agreementThreshold: number;
}

/** Per request: whose context and cached answers (the gateway's decision, never defaulted here), and the caller's cache wish. */
export interface AskOptions extends CacheRequest {
  tenant: Tenant;
}

/** What a cached /v1/prompt answer holds: everything but the request's own id, context source and cache status. */
type CachedAnswer = Pick<AskResponse, 'answer' | 'answeredBy' | 'strategy' | 'models' | 'fusion'>;
const isCachedAnswer = (v: unknown): v is CachedAnswer =>
  typeof (v as CachedAnswer | null)?.answer === 'string' && typeof (v as CachedAnswer).answeredBy === 'string' && typeof (v as CachedAnswer).models === 'object';

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

  /** A model refused for load or an open breaker may take calls again soon: when (0: no hint). */
  get retryAfterSeconds(): number {
    return Math.max(0, ...Object.values(this.models).map((o) => (o.code === 'overloaded' ? 1 : o.code === 'circuit_open' ? 5 : 0)));
  }
}

/** Why no model answered: the budget ran out (a call can end a moment before the budget's own timer fires), or they all failed. */
export const noAnswer = (budget: CallBudget, models: Record<ModelName, ModelOutcome>): Error =>
  budget.signal.aborted || budget.remainingMs() === 0 ? new DeadlineExceeded(models) : new NoModelAnswered(models);

const FAILED = new Set(['error', 'timeout', 'circuit_open']);
/** A model that failed (not one we stopped or did not need): the answer is degraded. */
export const isFailure = (o: ModelOutcome | undefined) => o !== undefined && (FAILED.has(o.status) || o.code === 'overloaded');

/**
 * The use case: context lookup, then the answer cache (keyed on the context's
 * content), else prompt, models by strategy, pick the answer; a good answer is
 * cached off the response path.
 */
export async function ask(req: AskRequest, requestId: string, budget: CallBudget, deps: AskDeps, opts: AskOptions): Promise<AskResponse> {
  const key = contextKeyFor(req.prompt, req.contextKey);
  const context = await lookupContext(tenantStoreKey(opts.tenant, key), deps.context, budget.signal);
  const maxTokens = req.maxTokens ?? deps.defaultMaxTokens;
  const answers = deps.answers;
  // Without the context (its store failed) the key would be wrong: never read or write then.
  const useCache = answers?.enabled === true && !opts.bypass && req.cache !== false && !context.degraded;
  const cacheKey = useCache
    ? answers.keyFor(opts.tenant, {
        route: 'prompt',
        input: inputFingerprint({ instructions: [], history: [], question: req.prompt, context: context.text }),
        strategy: req.strategy,
        maxTokens,
      })
    : undefined;
  const { cache, hit } = answers ? await answers.consult(cacheKey, budget.signal, isCachedAnswer) : { cache: 'bypass' as AnswerCacheStatus };
  if (hit) {
    const { answer, answeredBy, strategy, models, fusion } = hit;
    return { requestId, answer, answeredBy, strategy, degraded: false, context: { source: context.source, key }, models, cache, ...(fusion ? { fusion } : {}) };
  }
  const prompt = buildPrompt(req.prompt, context.text, deps.contextBudgetChars);
  const generate: GenerateRequest = { ...prompt, maxTokens };
  const outcomes = await STRATEGY_RUNNERS[req.strategy](deps.preference, (m, opts) => deps.runModel(m, generate, budget, opts));
  const models = Object.fromEntries(deps.preference.map((m) => [m, outcomes[m]!])) as Record<ModelName, ModelOutcome>;
  const fused = req.strategy === 'fuse' ? await fuseDrafts(models, { question: req.prompt, context: context.text, maxTokens }, budget, deps) : undefined;
  const answeredBy = fused?.answeredBy ?? deps.preference.find((m) => models[m]?.status === 'ok');
  if (!answeredBy) throw noAnswer(budget, models);
  const answer = fused?.answer ?? models[answeredBy]?.text ?? '';
  const degraded = context.degraded || Object.values(models).some(isFailure) || fused?.degraded === true;
  // Degraded answers are never cached: the next caller should get the models' full effort.
  if (answers && cacheKey !== undefined && !degraded)
    void answers.save(cacheKey, { answer, answeredBy, strategy: req.strategy, models, ...(fused ? { fusion: fused.fusion } : {}) } satisfies CachedAnswer);
  return { requestId, answer, answeredBy, strategy: req.strategy, degraded, context: { source: context.source, key }, models, cache, ...(fused ? { fusion: fused.fusion } : {}) };
}
