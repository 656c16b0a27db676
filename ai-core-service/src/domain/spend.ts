/**
 * Meters every model call made for one request (drafts, synthesis, race
 * losers, fallbacks), so the gateway can charge what was spent rather than
 * what the answer's own `usage` says. The meter rides the request's async
 * context: whatever runs a model on the request's behalf is metered, without
 * threading it through every use case.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  estimateTokens,
  type ModelErrorCode,
  type ModelName,
  type ModelOutcome,
  type Spend,
} from '@context-qa/common/contract';
import type { CallBudget, GenerateRequest, Models, RaceOptions, StreamOptions } from './ports';

/** Rejected by the provider up front, or refused by our breaker or bulkhead: nothing was generated. */
const NOTHING_SPENT = new Set<ModelErrorCode | undefined>([
  'circuit_open',
  'overloaded',
  'bad_request',
  'unauthorized',
  'rate_limited',
]);

/** Outcomes of calls that never reached the provider (the budget already spent, an open breaker, a full bulkhead). */
const neverCalled = new WeakSet<ModelOutcome>();
/** Marks an outcome as one whose model was never called: it costs nothing. */
export const notCalled = (outcome: ModelOutcome): ModelOutcome => (neverCalled.add(outcome), outcome);

const inputTokens = (req: GenerateRequest): number =>
  estimateTokens(req.system) +
  estimateTokens(req.user) +
  (req.history ?? []).reduce((n, t) => n + estimateTokens(t.text), 0);

/** What one call cost: the provider's report, else an estimate of what it consumed (a stream cut off: what it produced). */
function spentBy(
  outcome: ModelOutcome,
  req: GenerateRequest,
  producedTokens: number,
): { input: number; output: number } {
  if (outcome.usage) return { input: outcome.usage.inputTokens, output: outcome.usage.outputTokens };
  if (neverCalled.has(outcome) || (outcome.status !== 'ok' && NOTHING_SPENT.has(outcome.code) && producedTokens === 0))
    return { input: 0, output: 0 };
  // Called, with no report: a race loser stopped at its first token, a stream cut, a timeout: the prompt was read.
  return { input: inputTokens(req), output: Math.max(producedTokens, estimateTokens(outcome.text ?? '')) };
}

export class SpendMeter {
  /** One entry per call: at the most it may cost while it runs (it may finish after the answer leaves), what it spent once it ended. */
  private readonly calls: { model: ModelName; input: number; output: number }[] = [];

  /** Meters one call; `produced()` estimates the tokens a stream has delivered so far. */
  track(
    model: ModelName,
    req: GenerateRequest,
    call: Promise<ModelOutcome>,
    produced: () => number = () => 0,
  ): Promise<ModelOutcome> {
    const entry = { model, input: inputTokens(req), output: req.maxTokens };
    this.calls.push(entry);
    return call.then((outcome) => {
      Object.assign(entry, spentBy(outcome, req, produced()));
      return outcome;
    });
  }

  /** The spend so far, per model. */
  total(): Spend {
    const total: Spend = {};
    for (const { model, input, output } of this.calls) {
      const t = (total[model] ??= { input: 0, output: 0 });
      t.input += input;
      t.output += output;
    }
    return total;
  }
}

const current = new AsyncLocalStorage<SpendMeter>();

export const spending = {
  /** Runs `fn` (a request's handling) with a fresh meter. */
  run: <T>(meter: SpendMeter, fn: () => T): T => current.run(meter, fn),
  /** The request's meter; undefined outside one (start-up, tests of a use case alone). */
  meter: (): SpendMeter | undefined => current.getStore(),
};

/** The models, each call metered into the current request's SpendMeter (streams count what they delivered as they go). */
export class MeteredModels implements Models {
  constructor(private readonly inner: Models) {}

  run(m: ModelName, req: GenerateRequest, budget: CallBudget, opts?: RaceOptions): Promise<ModelOutcome> {
    const call = this.inner.run(m, req, budget, opts);
    return spending.meter()?.track(m, req, call) ?? call;
  }

  stream(m: ModelName, req: GenerateRequest, budget: CallBudget, opts: StreamOptions): Promise<ModelOutcome> {
    let produced = 0;
    const onDelta = (text: string) => {
      produced += estimateTokens(text);
      opts.onDelta(text);
    };
    const call = this.inner.stream(m, req, budget, { ...opts, onDelta });
    return spending.meter()?.track(m, req, call, () => produced) ?? call;
  }
}
