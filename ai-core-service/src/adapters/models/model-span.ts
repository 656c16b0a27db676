/**
 * One OpenTelemetry span per model call, with the GenAI semantic-convention
 * attributes (provider, request and response model, tokens, finish reason,
 * error type). Never the prompt, the context or the answer: those are user data.
 * Without a tracing SDK the API is a no-op.
 */
import { SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import type { ModelErrorCode, ModelOutcome } from '@context-qa/common/contract';
import type { GenerateRequest, GenerateResult, ModelProvider } from '../../domain/ports';
import type { ProviderKind } from '../../models-config';
import { samplingFor } from './sampling';

const tracer = trace.getTracer('context-qa.ai-core');
const OPERATION = 'chat';

/** gen_ai.provider.name of each provider kind: the adapters name themselves with it, and a span finds the ranges their sampling was put into. */
export const GENAI_PROVIDER = { bedrock: 'aws.bedrock', 'azure-openai': 'azure.ai.openai' } as const satisfies Record<
  ProviderKind,
  string
>;
const KIND_OF = new Map<string, ProviderKind>(
  Object.entries(GENAI_PROVIDER).map(([kind, name]) => [name, kind as ProviderKind]),
);

/** Codes that are our own decision or a cancellation, not a failure of the model. */
const NOT_AN_ERROR = new Set<ModelErrorCode>(['cancelled', 'not_needed']);

/** Runs `call` inside a CLIENT span named `chat <model>`; the SDK's HTTP span becomes its child. */
export function inModelSpan(
  provider: ModelProvider,
  req: GenerateRequest,
  call: (record: (outcome: ModelOutcome, result?: GenerateResult) => void) => Promise<ModelOutcome>,
): Promise<ModelOutcome> {
  const model = provider.telemetry?.model ?? provider.name;
  return tracer.startActiveSpan(
    `${OPERATION} ${model}`,
    { kind: SpanKind.CLIENT, attributes: requestAttributes(provider, req) },
    async (span) => {
      try {
        return await call((outcome, result) => record(span, model, outcome, result));
      } finally {
        span.end();
      }
    },
  );
}

/** The span's request attributes: the sampling parameters as sent, i.e. put into the provider's ranges (Bedrock's temperature ≤ 1). */
export function requestAttributes(provider: ModelProvider, req: GenerateRequest): Attributes {
  const kind = KIND_OF.get(provider.telemetry?.provider ?? '');
  const sent = kind ? samplingFor(kind, req) : req;
  return {
    'gen_ai.operation.name': OPERATION,
    'gen_ai.provider.name': provider.telemetry?.provider ?? 'unknown',
    // The name before semconv 1.37, still what many trace viewers group by.
    'gen_ai.system': provider.telemetry?.provider ?? 'unknown',
    'gen_ai.request.model': provider.telemetry?.model ?? provider.name,
    'gen_ai.request.max_tokens': req.maxTokens,
    ...(sent.temperature !== undefined ? { 'gen_ai.request.temperature': sent.temperature } : {}),
    ...(sent.topP !== undefined ? { 'gen_ai.request.top_p': sent.topP } : {}),
    'context_qa.model': provider.name,
  };
}

function record(span: Span, requestModel: string, outcome: ModelOutcome, result?: GenerateResult): void {
  if (result) span.setAttribute('gen_ai.response.model', result.model ?? requestModel);
  if (outcome.usage) {
    span.setAttribute('gen_ai.usage.input_tokens', outcome.usage.inputTokens);
    span.setAttribute('gen_ai.usage.output_tokens', outcome.usage.outputTokens);
  }
  if (outcome.finishReason) span.setAttribute('gen_ai.response.finish_reasons', [outcome.finishReason]);
  if (!outcome.code) return;
  span.setAttribute('error.type', outcome.code);
  if (!NOT_AN_ERROR.has(outcome.code)) span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.code });
}

/** An event on the request's current span (a breaker turning, a call refused without a model call). */
export function modelEvent(name: string, attributes: Attributes): void {
  trace.getActiveSpan()?.addEvent(name, attributes);
}
