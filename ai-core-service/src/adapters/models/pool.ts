/** The configured models by name, each behind its own GuardedModel: the domain's `Models` port. */
import type { ModelName, ModelOutcome } from '@context-qa/common/contract';
import type { CallBudget, GenerateRequest, Models, RaceOptions, StreamOptions } from '../../domain/ports';
import type { GuardedModel } from './guarded';

export class ModelPool implements Models {
  /** `streamIdleMs`: a stream that stalls this long is a timeout (STREAM_IDLE_TIMEOUT_MS). */
  constructor(
    private readonly guarded: ReadonlyMap<ModelName, GuardedModel>,
    private readonly streamIdleMs: number,
  ) {}

  run(m: ModelName, req: GenerateRequest, budget: CallBudget, opts?: RaceOptions): Promise<ModelOutcome> {
    return this.model(m).run(req, budget, opts);
  }

  /** No maxMs: a stream is bounded by its own request's budget (a loser in the background too), not by the global maximum. */
  stream(m: ModelName, req: GenerateRequest, budget: CallBudget, opts: StreamOptions): Promise<ModelOutcome> {
    return this.model(m).runStream(req, budget, { ...opts, idleMs: this.streamIdleMs });
  }

  private model(m: ModelName): GuardedModel {
    const g = this.guarded.get(m);
    if (!g) throw new Error(`model ${m} is not configured`); // MODEL_PREFERENCE is checked against MODELS at start
    return g;
  }
}
