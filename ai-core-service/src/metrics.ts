import { Counter, createMetrics, Gauge, Histogram, type ModelName, type ModelOutcome } from '@context-qa/common';
import type { BreakerState, ModelObserver } from './adapters/models/guarded';
import type { AnswerLookupOutcome, AnswerWriteOutcome } from './domain/answer-cache';
import type { WriteBackOutcome } from './domain/cache-sync';

const STATE_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

/** ai-core's metrics: HTTP (shared), per-model latency/outcome/breaker/tokens, context lookups and write-backs. */
export function aiCoreMetrics(opts: { pendingWriteBacks: () => number }) {
  const { registry, httpMiddleware } = createMetrics('ai-core-service');
  const modelDuration = new Histogram({
    name: 'model_call_duration_seconds',
    help: 'Model call latency by model and outcome status',
    labelNames: ['model', 'status'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30],
    registers: [registry],
  });
  const breakerState = new Gauge({
    name: 'model_breaker_state',
    help: 'Circuit breaker state per model: 0 closed, 1 half-open, 2 open',
    labelNames: ['model'] as const,
    registers: [registry],
  });
  const tokens = new Counter({
    name: 'model_tokens_total',
    help: 'Tokens reported by the models',
    labelNames: ['model', 'direction'] as const,
    registers: [registry],
  });
  const lookups = new Counter({
    name: 'context_lookups_total',
    help: 'Context lookups by store (cache, store) and outcome (hit, miss, error)',
    labelNames: ['store', 'outcome'] as const,
    registers: [registry],
  });
  const refusals = new Counter({
    name: 'model_calls_refused_total',
    help: 'Model calls refused without calling the model: code overloaded (bulkhead full) or circuit_open',
    labelNames: ['model', 'code'] as const,
    registers: [registry],
  });
  const models: ModelObserver = {
    call(model: ModelName, o: ModelOutcome) {
      if (o.code === 'overloaded' || o.code === 'circuit_open') refusals.inc({ model, code: o.code });
      modelDuration.observe({ model, status: o.status }, o.latencyMs / 1000);
      if (o.usage) {
        tokens.inc({ model, direction: 'input' }, o.usage.inputTokens);
        tokens.inc({ model, direction: 'output' }, o.usage.outputTokens);
      }
    },
    breaker: (model, state) => breakerState.set({ model }, STATE_VALUE[state]),
  };
  const context = (store: 'cache' | 'store', outcome: 'hit' | 'miss' | 'error') => lookups.inc({ store, outcome });
  const writeBacks = new Counter({
    name: 'context_cache_writebacks_total',
    help: 'Cache write-backs after a read miss by outcome (written, conflict: a newer write came first, expired, error)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'context_cache_writebacks_pending',
    help: 'Cache write-backs started and not yet finished (shutdown waits for them)',
    registers: [registry],
    collect() {
      this.set(opts.pendingWriteBacks());
    },
  });
  const writeBack = (outcome: WriteBackOutcome) => writeBacks.inc({ outcome });
  const answerLookups = new Counter({
    name: 'answer_cache_lookups_total',
    help: 'Answer cache use per request: hit, miss (models called), bypass (disabled, no-cache, stream, or context unknown), error (read failed: a miss)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const answerWrites = new Counter({
    name: 'answer_cache_writes_total',
    help: 'Answers written to the answer cache by outcome (written, error)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const answerCache = {
    observeLookup: (outcome: AnswerLookupOutcome) => answerLookups.inc({ outcome }),
    observeWrite: (outcome: AnswerWriteOutcome) => answerWrites.inc({ outcome }),
  };
  return { registry, httpMiddleware, models, context, writeBack, answerCache };
}
