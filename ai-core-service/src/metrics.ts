/**
 * ai-core's Prometheus registry and the observers the adapters and domain report to (model calls, breakers,
 * context lookups, write-backs, answer cache), so they record facts without knowing about Prometheus.
 */
import type { ModelName, ModelOutcome } from '@context-qa/common/contract';
import { Counter, createMetrics, Gauge, Histogram } from '@context-qa/common/telemetry';
import type { BreakerState, ModelObserver } from './adapters/models/guarded';
import type { AnswerLookupOutcome, AnswerWriteOutcome } from './domain/answer-cache';
import type { WriteBackOutcome } from './domain/cache-sync';
import type { ContextDeps } from './domain/context';

const STATE_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

/** Who serves a model and under which id (a provider's `telemetry`: the GenAI trace attributes too). */
export type GenAiTarget = { provider: string; model: string };

/** OpenTelemetry GenAI semantic conventions' bucket advice for these two metrics. */
const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
const DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

/**
 * ai-core's metrics: HTTP (shared); per model the OpenTelemetry GenAI metrics
 * (gen_ai.client.operation.duration, gen_ai.client.token.usage) as Prometheus
 * histograms, breaker state and refusals; context lookups, write-backs, answer cache.
 * Histogram counts are the call counts (one series per fact: no separate counters).
 * `genAi` names a model's provider and model id (catalogue name and "unknown" when it cannot).
 */
export function aiCoreMetrics(opts: {
  pendingWriteBacks: () => number;
  genAi?: (model: ModelName) => GenAiTarget | undefined;
}) {
  const { registry, httpMiddleware } = createMetrics('ai-core-service');
  const genAiLabels = ['model', 'gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model'] as const;
  const operationDuration = new Histogram({
    name: 'gen_ai_client_operation_duration_seconds',
    help: 'GenAI operation duration (gen_ai.client.operation.duration) of each model call; error_type (the outcome code) when it failed',
    labelNames: [...genAiLabels, 'error_type'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const tokenUsage = new Histogram({
    name: 'gen_ai_client_token_usage',
    help: 'Tokens per model call (gen_ai.client.token.usage) by gen_ai_token_type (input, output)',
    labelNames: [...genAiLabels, 'gen_ai_token_type'] as const,
    buckets: TOKEN_BUCKETS,
    registers: [registry],
  });
  const breakerState = new Gauge({
    name: 'model_breaker_state',
    help: 'Circuit breaker state per model: 0 closed, 1 half-open, 2 open',
    labelNames: ['model'] as const,
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
      // A refusal never reached the model: it has no duration, only a count.
      if (o.code === 'overloaded' || o.code === 'circuit_open') return void refusals.inc({ model, code: o.code });
      const target = opts.genAi?.(model);
      const labels = {
        model,
        gen_ai_operation_name: 'chat',
        gen_ai_provider_name: target?.provider ?? 'unknown',
        gen_ai_request_model: target?.model ?? model,
      };
      operationDuration.observe(o.code ? { ...labels, error_type: o.code } : labels, o.latencyMs / 1000);
      if (o.usage) {
        tokenUsage.observe({ ...labels, gen_ai_token_type: 'input' }, o.usage.inputTokens);
        tokenUsage.observe({ ...labels, gen_ai_token_type: 'output' }, o.usage.outputTokens);
      }
    },
    breaker: (model, state) => breakerState.set({ model }, STATE_VALUE[state]),
  };
  const lookups = new Histogram({
    name: 'context_lookup_duration_seconds',
    help: 'Context lookup steps by store (cache, store) and outcome (hit, miss, error); the count is the number of lookups',
    labelNames: ['store', 'outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const context: NonNullable<ContextDeps['observe']> = (store, outcome, seconds) =>
    lookups.observe({ store, outcome }, seconds);
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
