/**
 * One resilience wrapper per model: an Opossum circuit breaker around a single
 * bounded attempt. The deadline is our own AbortSignal per call (Opossum's
 * timeout would abort one shared controller and cannot cancel a single
 * request), so a breaker timeout really cancels the HTTP request.
 */
import CircuitBreaker from 'opossum';
import type { ModelName, ModelOutcome } from '@context-qa/common';
import { ModelError, type GenerateRequest, type GenerateResult, type ModelProvider } from '../../domain/ports';

export interface BreakerSettings {
  timeoutMs: number;
  errorThresholdPercentage: number;
  resetTimeoutMs: number;
  volumeThreshold: number;
  rollingCountTimeoutMs: number;
}

export type BreakerState = 'closed' | 'half_open' | 'open';

export interface ModelObserver {
  call(model: ModelName, outcome: ModelOutcome): void;
  breaker(model: ModelName, state: BreakerState): void;
}

/** Our own cancellations and our bad requests say nothing about the model's health. */
const NOT_A_FAILURE = new Set(['cancelled', 'bad_request']);

export class GuardedModel {
  private readonly breaker: CircuitBreaker<[GenerateRequest, AbortSignal], GenerateResult>;

  constructor(
    readonly provider: ModelProvider,
    private readonly settings: BreakerSettings,
    private readonly observer?: ModelObserver,
  ) {
    this.breaker = new CircuitBreaker((req: GenerateRequest, signal: AbortSignal) => this.attempt(req, signal), {
      name: provider.name,
      timeout: false,
      errorThresholdPercentage: settings.errorThresholdPercentage,
      resetTimeout: settings.resetTimeoutMs,
      volumeThreshold: settings.volumeThreshold,
      rollingCountTimeout: settings.rollingCountTimeoutMs,
      errorFilter: (err: unknown) => err instanceof ModelError && NOT_A_FAILURE.has(err.kind),
    });
    const report = (state: BreakerState) => () => observer?.breaker(provider.name, state);
    this.breaker.on('open', report('open'));
    this.breaker.on('halfOpen', report('half_open'));
    this.breaker.on('close', report('closed'));
    observer?.breaker(provider.name, 'closed');
  }

  get state(): BreakerState {
    return this.breaker.opened ? 'open' : this.breaker.halfOpen ? 'half_open' : 'closed';
  }

  private async attempt(req: GenerateRequest, outer: AbortSignal): Promise<GenerateResult> {
    const deadline = AbortSignal.timeout(this.settings.timeoutMs);
    try {
      return await this.provider.generate(req, AbortSignal.any([outer, deadline]));
    } catch (err) {
      if (deadline.aborted && !outer.aborted) {
        throw new ModelError('timeout', `no answer within ${this.settings.timeoutMs} ms`, { cause: err });
      }
      throw err;
    }
  }

  /** Never throws: every failure becomes an outcome status. */
  async run(req: GenerateRequest, signal: AbortSignal): Promise<ModelOutcome> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    let outcome: ModelOutcome;
    try {
      const result = await this.breaker.fire(req, signal);
      outcome = { status: 'ok', text: result.text, latencyMs: elapsed(), ...(result.usage ? { usage: result.usage } : {}) };
    } catch (err) {
      outcome = { ...failure(err), latencyMs: elapsed() };
    }
    this.observer?.call(this.provider.name, outcome);
    return outcome;
  }

  shutdown(): void {
    this.breaker.shutdown();
  }
}

function failure(err: unknown): Omit<ModelOutcome, 'latencyMs'> {
  if ((err as { code?: string }).code === 'EOPENBREAKER') return { status: 'circuit_open', error: 'circuit breaker is open' };
  if (err instanceof ModelError) {
    if (err.kind === 'cancelled') return { status: 'skipped', error: 'cancelled: another model answered first' };
    return { status: err.kind === 'timeout' ? 'timeout' : 'error', error: `${err.kind}: ${err.message}` };
  }
  return { status: 'error', error: 'unexpected failure' };
}
