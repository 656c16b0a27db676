/**
 * One resilience wrapper per model: a bulkhead, then an Opossum circuit breaker
 * around a single bounded attempt. The deadline is our own AbortSignal per call
 * (Opossum's timeout aborts one shared controller), so it really cancels the
 * HTTP request.
 *
 * Breaker honesty: our own cancellations and our own bad requests say nothing
 * about the model, so they count as neither success nor failure. Opossum has no
 * "neutral" outcome (an errorFilter-ed error is reported as a *success*, which
 * closes a half-open breaker), so NeutralBreaker drops that success event, the
 * call is taken out of the window's fire count, and an inconclusive half-open
 * trial re-opens the breaker for another reset period instead of closing it.
 * A stream's first token is a verdict of its own: the model is alive, so a
 * stream we cut after it (race lost, caller gone, budget spent) is a success.
 * Half-open, exactly one trial runs at a time, tracked here: Opossum would
 * reject a second one only after counting its fire. A trial runs to its
 * verdict even if its caller leaves (who stops waiting), and a streamed trial
 * closes the breaker at its first token, not at the end of the stream.
 */
import CircuitBreaker from 'opossum';
import { MODEL_ERROR_CODES, type ModelErrorCode, type ModelName, type ModelOutcome } from '@context-qa/common/contract';
import { collectStream } from './streamed';
import { inModelSpan, modelEvent } from './model-span';
import { untilAborted } from './until-aborted';
import { BREAKER_WINDOW_BUCKETS } from './breaker-window';
import { notCalled } from '../../domain/spend';
import {
  ModelError,
  type CallBudget,
  type GenerateRequest,
  type GenerateResult,
  type ModelProvider,
} from '../../domain/ports';

export interface BreakerSettings {
  timeoutMs: number;
  errorThresholdPercentage: number;
  resetTimeoutMs: number;
  volumeThreshold: number;
  rollingCountTimeoutMs: number;
  /** Bulkhead: calls in flight beyond this are refused at once (`overloaded`). */
  maxInFlight: number;
}

export type BreakerState = 'closed' | 'half_open' | 'open';

export interface ModelObserver {
  call(model: ModelName, outcome: ModelOutcome): void;
  breaker(model: ModelName, state: BreakerState): void;
  /** The cause behind a failed outcome: for the logs, never for the client. */
  failure?(model: ModelName, code: ModelErrorCode, err: unknown): void;
}

export interface CallOptions {
  /**
   * Aborts when another model already answered (`fastest`). Honoured only while
   * this model is proven healthy, or once its stream produced a first token:
   * otherwise the call runs on to its own deadline so that the breaker learns
   * whether the model is alive (a hanging model that always loses the race
   * would never be detected).
   */
  lostRace?: AbortSignal;
}

/** What the breaker runs: one model call, under the model's deadline when it has one. */
interface Work {
  req: GenerateRequest;
  /**
   * `signal` ends the call for any reason; `caller` only when we stopped it (the model's deadline is not in it).
   * `alive()`: the model has proven itself alive before the call's end (a stream's first token).
   */
  run(signal: AbortSignal, caller: AbortSignal, alive: () => void): Promise<GenerateResult>;
  deadlineMs?: number;
  /** Set once a healthy call was cut short: the breaker saw a success, the caller gets this code and no answer. */
  cutAs?(): ModelErrorCode | undefined;
}

const NEUTRAL = new Set<ModelErrorCode>(['cancelled', 'bad_request']);
const isNeutral = (err: unknown) => err instanceof ModelError && NEUTRAL.has(err.kind);

class NeutralBreaker<A extends unknown[], R> extends CircuitBreaker<A, R> {
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'success' && isNeutral(args[0])) return false;
    return super.emit(event, ...args);
  }
}

export class GuardedModel {
  private readonly breaker: NeutralBreaker<[Work, AbortSignal, () => void], GenerateResult>;
  private inFlight = 0;
  /** The half-open trial still deciding: every other call is refused until it has. Only its own end (or first token) clears it. */
  private trial: symbol | undefined;
  private lastAnsweredAt = Number.NEGATIVE_INFINITY;
  private readonly running = new Set<Promise<ModelOutcome>>();

  constructor(
    readonly provider: ModelProvider,
    private readonly settings: BreakerSettings,
    private readonly observer?: ModelObserver,
  ) {
    this.breaker = new NeutralBreaker(
      (work: Work, signal: AbortSignal, alive: () => void) => this.attempt(work, signal, alive),
      {
        name: provider.name,
        timeout: false,
        errorThresholdPercentage: settings.errorThresholdPercentage,
        resetTimeout: settings.resetTimeoutMs,
        volumeThreshold: settings.volumeThreshold,
        rollingCountTimeout: settings.rollingCountTimeoutMs,
        rollingCountBuckets: BREAKER_WINDOW_BUCKETS, // config.ts checks the window against it
        errorFilter: isNeutral,
        // Unused here, and costly: percentiles sort every latency in the window on each failure's stats read.
        rollingPercentilesEnabled: false,
        enableSnapshots: false,
      },
    );
    // Opening and closing happen inside a call (its span gets the event); half-open comes from
    // Opossum's timer, whose span is long over: the next trial's span says it instead.
    const report = (state: BreakerState, traced: boolean) => () => {
      observer?.breaker(provider.name, state);
      if (traced)
        modelEvent('context_qa.breaker.state_change', {
          'context_qa.model': provider.name,
          'context_qa.breaker.state': state,
        });
    };
    this.breaker.on('open', report('open', true));
    this.breaker.on('halfOpen', report('half_open', false));
    this.breaker.on('close', report('closed', true));
    observer?.breaker(provider.name, 'closed');
  }

  get state(): BreakerState {
    if (this.breaker.opened) return 'open';
    return this.breaker.halfOpen ? 'half_open' : 'closed';
  }

  get stats() {
    const { fires, successes, failures } = this.breaker.stats;
    return { fires, successes, failures };
  }

  /** Closed, and answered within the rolling window. */
  private get proven(): boolean {
    return this.breaker.closed && performance.now() - this.lastAnsweredAt < this.settings.rollingCountTimeoutMs;
  }

  /**
   * One attempt under two clocks: the model's own deadline (a failure of the
   * model) and the request's budget, whose own timer ends it (neutral: the
   * request ran out of time, which says nothing about the model).
   */
  private async attempt(work: Work, outer: AbortSignal, alive: () => void): Promise<GenerateResult> {
    if (work.deadlineMs === undefined) return work.run(outer, outer, alive);
    const deadline = AbortSignal.timeout(work.deadlineMs);
    try {
      return await work.run(AbortSignal.any([outer, deadline]), outer, alive);
    } catch (err) {
      if (deadline.aborted && !outer.aborted)
        throw new ModelError('timeout', `no answer within ${work.deadlineMs} ms`, { cause: err });
      throw err;
    }
  }

  /** One answer, within MODEL_TIMEOUT_MS. Never throws: every failure becomes an outcome with a stable code. */
  run(req: GenerateRequest, budget: CallBudget, opts: CallOptions = {}): Promise<ModelOutcome> {
    // Raced against its signal: a provider that ignores it must not hold the call (or a half-open trial) forever.
    const work = {
      req,
      run: (signal: AbortSignal) => untilAborted(this.provider.generate(req, signal), signal),
      deadlineMs: this.settings.timeoutMs,
    };
    return this.guard(work, this.settings.timeoutMs, budget, opts);
  }

  /**
   * One streamed answer, each delta handed to `onDelta` as it arrives. The
   * breaker sees the whole stream as one call, so a failure after the first
   * token counts too; a stall of `idleMs` is a timeout, and so is a stream
   * longer than `maxMs`, when given (the request's budget bounds it anyway).
   * The first token proves the model healthy: from then on a lost race or the
   * caller's leaving stops the stream at once, and a stream we cut counts as
   * the success it was.
   */
  runStream(
    req: GenerateRequest,
    budget: CallBudget,
    opts: CallOptions & { idleMs: number; maxMs?: number; onDelta: (text: string) => void },
  ): Promise<ModelOutcome> {
    const stop = new AbortController(); // stopped by us after the first token
    let text: string | undefined; // undefined until the first token
    let cut: ModelErrorCode | undefined;
    const stopAs = (code: ModelErrorCode) => () => {
      cut ??= code;
      stop.abort();
    };
    // After the first token: the race lost, or the caller gone (a half-open trial does not run under the caller's signal).
    const stoppers = [
      { signal: opts.lostRace, stop: stopAs('not_needed') },
      { signal: budget.signal, stop: stopAs('cancelled') },
    ];
    const work: Work = {
      req,
      ...(opts.maxMs !== undefined ? { deadlineMs: opts.maxMs } : {}),
      cutAs: () => cut,
      run: async (signal, caller, alive) => {
        const onDelta = (delta: string) => {
          if (text === undefined) {
            alive();
            for (const s of stoppers) {
              if (s.signal?.aborted) s.stop();
              else s.signal?.addEventListener('abort', s.stop, { once: true });
            }
          }
          text = (text ?? '') + delta;
          if (!stop.signal.aborted) opts.onDelta(delta);
        };
        try {
          return await collectStream(
            (s) => this.provider.stream(req, s),
            AbortSignal.any([signal, stop.signal]),
            opts.idleMs,
            onDelta,
          );
        } catch (err) {
          // Cut by us after its first token: proven alive (a model's own failure or deadline still counts).
          if (text === undefined || !(stop.signal.aborted || caller.aborted)) throw err;
          cut ??= 'cancelled';
          return { text };
        } finally {
          for (const s of stoppers) s.signal?.removeEventListener('abort', s.stop);
        }
      },
    };
    return this.guard(work, opts.idleMs, budget, opts);
  }

  /** Why a call is refused before it starts: the bulkhead is full, or the breaker would not let it through. */
  private refusal(budget: CallBudget, verdictWithinMs: number): 'overloaded' | 'circuit_open' | undefined {
    if (this.inFlight >= this.settings.maxInFlight) return 'overloaded';
    const trialBlocked = this.breaker.halfOpen && (this.trial !== undefined || budget.remainingMs() < verdictWithinMs);
    return this.breaker.opened || trialBlocked ? 'circuit_open' : undefined;
  }

  /** Bulkhead, breaker and neutrality around one unit of work. */
  private guard(work: Work, verdictWithinMs: number, budget: CallBudget, opts: CallOptions): Promise<ModelOutcome> {
    if (budget.signal.aborted || budget.remainingMs() <= 0) return Promise.resolve(notCalled(refused('cancelled')));
    // A half-open trial must be able to end in a verdict: one that the budget
    // would cut before the model's deadline could only be inconclusive (and a
    // caller sending tiny budgets could keep the breaker open for everyone).
    // Refused here, not by Opossum's fire(): no model is called, so no model-call span.
    const refusal = this.refusal(budget, verdictWithinMs);
    if (refusal) {
      const outcome = notCalled(refused(refusal));
      modelEvent('context_qa.model.refused', { 'context_qa.model': this.provider.name, 'error.type': refusal });
      this.observer?.call(this.provider.name, outcome);
      return Promise.resolve(outcome);
    }
    // The request's budget on a timer of our own: the response's end clears the budget's timer, and a
    // race loser running on in the background must still end when its request would have.
    const ownTimer = AbortSignal.timeout(budget.remainingMs());
    // A half-open trial runs to its verdict on that timer alone: cut by a caller who left, it would be
    // inconclusive and keep a healthy model's breaker open for another reset period (again and again).
    const trial = this.breaker.halfOpen;
    const request = trial ? ownTimer : AbortSignal.any([budget.signal, ownTimer]);
    const signal = opts.lostRace && this.proven ? AbortSignal.any([request, opts.lostRace]) : request;
    const p = this.fire(work, signal, trial);
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
    // The trial's caller just stops waiting when it leaves; at most one call per reset period runs on like this.
    return trial ? untilAborted(p, budget.signal).catch(() => refused('cancelled')) : p;
  }

  private fire(work: Work, signal: AbortSignal, trial: boolean): Promise<ModelOutcome> {
    return inModelSpan(this.provider, work.req, (record) => this.fireTraced(work, signal, trial, record));
  }

  private async fireTraced(
    work: Work,
    signal: AbortSignal,
    isTrial: boolean,
    record: (o: ModelOutcome, r?: GenerateResult) => void,
  ): Promise<ModelOutcome> {
    const started = performance.now();
    // The window bucket this call's fire is counted in (buckets rotate while it runs).
    const bucket = this.breaker.status.window[0];
    this.inFlight++;
    const trial = isTrial ? (this.trial = Symbol('trial')) : undefined;
    /** True once, for the trial still deciding; clears its flag (a later trial's flag is not ours to clear). */
    const decides = (): boolean => {
      if (trial === undefined || this.trial !== trial) return false;
      this.trial = undefined;
      return true;
    };
    // A first token is the trial's success: close now, and judge the rest of the stream as any closed-state call
    // (Opossum's close() keeps the window; the fire still ends in exactly one success or failure).
    const alive = () => {
      if (decides() && this.breaker.halfOpen) this.breaker.close();
    };
    let outcome: ModelOutcome;
    let result: GenerateResult | undefined;
    if (trial) modelEvent('context_qa.breaker.trial', { 'context_qa.model': this.provider.name });
    try {
      result = await this.breaker.fire(work, signal, alive);
      this.lastAnsweredAt = performance.now();
      const cut = work.cutAs?.();
      outcome = cut
        ? refused(cut)
        : {
            status: 'ok',
            text: result.text,
            latencyMs: 0,
            ...(result.usage ? { usage: result.usage } : {}),
            ...(result.finishReason ? { finishReason: result.finishReason } : {}),
          };
    } catch (err) {
      if (isNeutral(err)) this.forgetFire(bucket, decides());
      outcome = refused(codeOf(err));
      this.observer?.failure?.(this.provider.name, outcome.code!, err);
    } finally {
      this.inFlight--;
      decides();
    }
    outcome.latencyMs = Math.round(performance.now() - started);
    record(outcome, result);
    this.observer?.call(this.provider.name, outcome);
    return outcome;
  }

  /** A neutral call leaves no trace: not in the window, and a half-open trial still deciding is retried later. */
  private forgetFire(bucket: { fires: number } | undefined, undecidedTrial: boolean): void {
    // Only while that bucket is still in the window: once rotated out, its fire no longer counts anyway.
    if (bucket && this.breaker.status.window.includes(bucket as never) && bucket.fires > 0) bucket.fires--;
    if (undecidedTrial && this.breaker.halfOpen) this.breaker.open();
  }

  /** Resolves once every call still running (e.g. a race loser finishing in the background) has ended. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }

  shutdown(): void {
    this.breaker.shutdown();
  }
}

const STATUS_OF: Partial<Record<ModelErrorCode, ModelOutcome['status']>> = {
  timeout: 'timeout',
  circuit_open: 'circuit_open',
  overloaded: 'skipped',
  cancelled: 'skipped',
  not_needed: 'skipped',
};

/** The public outcome of a failed or refused call: a code and its fixed message, never the upstream's text. */
export function refused(code: ModelErrorCode, latencyMs = 0): ModelOutcome {
  return { status: STATUS_OF[code] ?? 'error', code, error: MODEL_ERROR_CODES[code], latencyMs };
}

function codeOf(err: unknown): ModelErrorCode {
  if ((err as { code?: string }).code === 'EOPENBREAKER') return 'circuit_open';
  return err instanceof ModelError ? err.kind : 'upstream_error';
}
