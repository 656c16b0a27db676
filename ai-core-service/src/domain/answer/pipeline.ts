/**
 * The use case behind every answer route: context → answer cache → strategy →
 * fuse → pick → save, whole or streamed. Every model call goes through
 * `models`, where the request's spend is metered (domain/spend.ts).
 */
import { type AnswerCacheStatus, type ModelName, type ModelOutcome, tenantStoreKey } from '@context-qa/common/contract';
import type { AnswerCache } from '../answer-cache';
import { contextKeyFor, lookupContext, type ContextDeps } from '../context';
import { fuseDrafts } from '../fuse';
import { isFailure, noAnswer, UnsupportedRouting } from '../outcomes';
import type { CallBudget, GenerateRequest, Models } from '../ports';
import type { Route } from '../routing';
import { STRATEGY_RUNNERS, STREAM_STRATEGIES, type Runner } from '../strategies';
import {
  answerKey,
  generateRequest,
  isCachedAnswer,
  type Answer,
  type AnswerOptions,
  type AnswerSink,
  type CachedAnswer,
  type Question,
} from './question';

export interface AnswerDeps {
  context: ContextDeps;
  models: Models;
  /** The exact-match answer cache; absent: no caching. */
  answers?: AnswerCache;
  contextBudgetChars: number;
  defaultMaxTokens: number;
  /** Strategy fuse: drafts at least this similar agree (FUSE_AGREEMENT_THRESHOLD). */
  agreementThreshold: number;
}

/** The port the routes answer through (tests fake it). */
export interface Answering {
  answer(q: Question, budget: CallBudget, opts: AnswerOptions): Promise<Answer>;
}

/** The answer the models gave; `failed`: a model (or fuse's synthesis) failed on the way. */
type Picked = CachedAnswer & { failed: boolean };

export class AnswerPipeline implements Answering {
  constructor(private readonly deps: AnswerDeps) {}

  /** Throws NoModelAnswered (or DeadlineExceeded) when no model answered; a stream throws only before its first byte. */
  async answer(q: Question, budget: CallBudget, opts: AnswerOptions): Promise<Answer> {
    const { route } = q;
    if (opts.sink && !STREAM_STRATEGIES.has(route.strategy)) {
      throw new UnsupportedRouting(`"${route.strategy}" cannot stream: stream with "primary", "fastest" or one model`);
    }
    const key = contextKeyFor(q.question, q.contextKey);
    const context = await lookupContext(tenantStoreKey(opts.tenant, key), this.deps.context, budget.signal);
    const generate = generateRequest(q, context.text, this.deps.contextBudgetChars, this.deps.defaultMaxTokens);
    const answers = this.deps.answers;
    // Without the context (its store failed) the key would be wrong: never read or write then. Streams never use the cache.
    const cacheKey =
      answers?.enabled && !opts.bypass && !opts.sink && !context.degraded
        ? answerKey(answers, opts.tenant, q, context.text, generate)
        : undefined;
    const { cache, hit } = answers
      ? await answers.consult(cacheKey, budget.signal, isCachedAnswer)
      : { cache: 'bypass' as AnswerCacheStatus };
    const source = { source: context.source, key };
    if (hit) {
      const { answeredBy, outcome, models, fusion } = hit; // only what an answer holds, whatever else the entry carries
      return { answeredBy, outcome, models, ...(fusion ? { fusion } : {}), degraded: false, cache, context: source };
    }

    const { failed, ...answer } = opts.sink
      ? await this.stream(route, generate, budget, opts.sink)
      : await this.whole(q, generate, context.text, budget);
    const degraded = context.degraded || failed;
    // Degraded answers are never cached: the next caller should get the models' full effort. (A stream has no cacheKey.)
    if (answers && cacheKey !== undefined && !degraded) void answers.save(cacheKey, answer);
    return { ...answer, degraded, cache, context: source };
  }

  /** Whole: the route's strategy, fuse's synthesis when asked, then the first model in the route's order that answered. */
  private async whole(
    q: Question,
    generate: GenerateRequest,
    context: string | undefined,
    budget: CallBudget,
  ): Promise<Picked> {
    const { route } = q;
    const models = await STRATEGY_RUNNERS[route.strategy](route.order, (m, o) =>
      this.deps.models.run(m, generate, budget, o),
    );
    const fused =
      route.strategy === 'fuse'
        ? await fuseDrafts(models, { question: q.question, context, maxTokens: generate.maxTokens }, budget, {
            ...this.deps,
            preference: route.order,
          })
        : undefined;
    const answeredBy = fused?.answeredBy ?? route.order.find((m) => models[m]?.status === 'ok');
    if (!answeredBy) throw noAnswer(budget, models);
    const outcome: ModelOutcome = fused
      ? { ...(fused.fusion.synthesis ?? models[answeredBy]!), status: 'ok', text: fused.answer }
      : models[answeredBy]!;
    const failed = Object.values(models).some(isFailure) || fused?.degraded === true;
    return { answeredBy, outcome, models, ...(fused ? { fusion: fused.fusion } : {}), failed };
  }

  /**
   * Streamed: the strategy's first model to produce a token answers, and only
   * its tokens reach the sink. Once a token is out, a failure ends the stream
   * with an error; before it, the strategy falls back unseen.
   */
  private async stream(route: Route, generate: GenerateRequest, budget: CallBudget, sink: AnswerSink): Promise<Picked> {
    let started: ModelName | undefined;
    const run: Runner = (m, o) =>
      this.deps.models.stream(m, generate, budget, {
        ...(o.lostRace ? { lostRace: o.lostRace } : {}),
        onDelta: (text) => {
          if (started === undefined && o.claim()) {
            started = m;
            sink.start(m);
          }
          if (started === m) sink.delta(text);
        },
      });
    const models = await STRATEGY_RUNNERS[route.strategy](route.order, run);
    // A model that ended ok without a token answered too (an empty answer).
    const answeredBy = started ?? route.order.find((m) => models[m]?.status === 'ok');
    if (!answeredBy) throw noAnswer(budget, models);
    if (started === undefined) sink.start(answeredBy);
    const outcome = models[answeredBy]!;
    if (outcome.status === 'ok') sink.end(outcome);
    else sink.fail(outcome);
    return { answeredBy, outcome, models, failed: Object.values(models).some(isFailure) };
  }
}
