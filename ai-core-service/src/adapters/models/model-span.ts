/**
 * One OpenTelemetry span per model call, with the GenAI semantic-convention
 * attributes (provider, request and response model, tokens, finish reason,
 * error type). Never the prompt, the context or the answer: those are user data.
 * Without a tracing SDK the API is a no-op.
 */
import { SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import type { ModelErrorCode, ModelOutcome } from '@context-qa/common';
import type { GenerateRequest, GenerateResult, ModelProvider } from '../../domain/ports';

const tracer = trace.getTracer('context-qa.ai-core');
const OPERATION = 'chat';

/** Codes that are our own decision or a cancellation, not a failure of the model. */
const NOT_AN_ERROR = new Set<ModelErrorCode>(['cancelled', 'not_needed']);

/** Runs `call` inside a CLIENT span named `chat <model>`; the SDK's HTTP span becomes its child. */
export function inModelSpan(
  provider: ModelProvider,
  req: GenerateRequest,
  call: (record: (outcome: ModelOutcome, result?: GenerateResult) => void) => Promise<ModelOutcome>,
): Promise<ModelOutcome> {
  const model = provider.telemetry?.model ?? provider.name;
  const attributes: Attributes = {
    'gen_ai.operation.name': OPERATION,
    'gen_ai.provider.name': provider.telemetry?.provider ?? 'unknown',
    // The name before semconv 1.37, still what many trace viewers group by.
    'gen_ai.system': provider.telemetry?.provider ?? 'unknown',
    'gen_ai.request.model': model,
    'gen_ai.request.max_tokens': req.maxTokens,
    ...(req.temperature !== undefined ? { 'gen_ai.request.temperature': req.temperature } : {}),
    ...(req.topP !== undefined ? { 'gen_ai.request.top_p': req.topP } : {}),
    'context_qa.model': provider.name,
  };
  return tracer.startActiveSpan(`${OPERATION} ${model}`, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      return await call((outcome, result) => record(span, model, outcome, result));
    } finally {
      span.end();
    }
  });
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
