/** Models on AWS Bedrock (Llama 4 and any other Converse model) through Converse and ConverseStream. */
import {
  BedrockRuntimeClient,
  BedrockRuntimeServiceException,
  ConverseCommand,
  ConverseStreamCommand,
  type Message,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { ModelName } from '@context-qa/common/contract';
import {
  ModelError,
  type FinishReason,
  type GenerateRequest,
  type ModelErrorKind,
  type ModelProvider,
  type Usage,
} from '../../domain/ports';
import { abortedOr, endedEarly, providerStream } from './errors';
import { samplingFor } from './sampling';
import { GENAI_PROVIDER } from './model-span';

export interface BedrockOptions {
  name: ModelName;
  region: string;
  modelId: string;
  /** Custom endpoint (the simulator); unset for real Bedrock. */
  endpoint?: string;
}

export function bedrockModel(opts: BedrockOptions): ModelProvider {
  const client = new BedrockRuntimeClient({
    region: opts.region,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    // HTTP/1.1 keep-alive: Converse needs no HTTP/2, and the simulator speaks 1.1.
    requestHandler: new NodeHttpHandler({ httpAgent: { keepAlive: true }, httpsAgent: { keepAlive: true } }),
    // One attempt per call: the breaker and the strategy's fallback are the only retry.
    maxAttempts: 1,
  });
  const input = (req: GenerateRequest) => {
    const { temperature, topP, stop } = samplingFor('bedrock', req);
    return {
      modelId: opts.modelId,
      system: [{ text: req.system }],
      messages: converseMessages(req),
      inferenceConfig: {
        maxTokens: req.maxTokens,
        ...(temperature !== undefined ? { temperature } : {}),
        ...(topP !== undefined ? { topP } : {}),
        ...(stop ? { stopSequences: stop } : {}),
      },
    };
  };

  return {
    name: opts.name,
    telemetry: { provider: GENAI_PROVIDER.bedrock, model: opts.modelId },
    async generate(req, signal) {
      try {
        const out = await client.send(new ConverseCommand(input(req)), { abortSignal: signal });
        const text = (out.output?.message?.content ?? []).map((c) => c.text ?? '').join('');
        const usage = out.usage ? usageOf(out.usage) : undefined;
        return { text, finishReason: finishReason(out.stopReason), ...(usage ? { usage } : {}) };
      } catch (err) {
        throw toModelError(err, signal);
      }
    },

    stream: (req, signal) =>
      providerStream(
        signal,
        async (s) =>
          (await client.send(new ConverseStreamCommand(input(req)), { abortSignal: s })).stream ?? noEvents(),
        // In-stream exceptions (modelStreamErrorException, throttlingException, …) are thrown by the
        // SDK's iterator as their exception classes; a dropped connection as a plain socket error.
        (ev, state) => {
          if (ev.messageStop) state.stop = finishReason(ev.messageStop.stopReason);
          if (ev.metadata?.usage) state.usage = usageOf(ev.metadata.usage);
          return ev.contentBlockDelta?.delta?.text;
        },
        toModelError,
      ),
  };
}

/**
 * Converse wants user first and roles alternating: consecutive turns of one
 * role are joined, and a conversation that opens with the assistant gets an
 * empty-ish user turn before it (as other OpenAI → Bedrock bridges do).
 */
export function converseMessages(req: GenerateRequest): Message[] {
  const out: { role: 'user' | 'assistant'; texts: string[] }[] = [];
  for (const turn of [...(req.history ?? []), { role: 'user' as const, text: req.user }]) {
    const last = out.at(-1);
    if (last?.role === turn.role) last.texts.push(turn.text);
    else out.push({ role: turn.role, texts: [turn.text] });
  }
  if (out[0]?.role === 'assistant') out.unshift({ role: 'user', texts: ['(conversation start)'] });
  return out.map((m) => ({ role: m.role, content: [{ text: m.texts.join('\n\n') }] }));
}

/** `reason`: a StopReason, or one newer than this SDK. */
function finishReason(reason: string | undefined): FinishReason {
  switch (reason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'content_filtered':
    case 'guardrail_intervened':
      return 'content_filter';
    default: // end_turn, stop_sequence (and tool_use, which we never ask for)
      return 'stop';
  }
}

const usageOf = (u: { inputTokens?: number; outputTokens?: number }): Usage => ({
  inputTokens: u.inputTokens ?? 0,
  outputTokens: u.outputTokens ?? 0,
});

/** Bedrock exceptions by name (HTTP errors and in-stream exceptions alike) → the domain's failure kinds. */
const KIND_BY_EXCEPTION: Record<string, ModelErrorKind> = {
  ThrottlingException: 'rate_limited',
  ServiceQuotaExceededException: 'rate_limited',
  AccessDeniedException: 'unauthorized',
  UnrecognizedClientException: 'unauthorized',
  ValidationException: 'bad_request',
  ModelTimeoutException: 'timeout',
};

function toModelError(err: unknown, signal: AbortSignal, midStream = false): ModelError {
  return abortedOr(err, signal, () => {
    if (err instanceof BedrockRuntimeServiceException) {
      const kind = KIND_BY_EXCEPTION[err.name] ?? 'upstream_error';
      return new ModelError(kind, `bedrock ${err.name} (${err.$metadata?.httpStatusCode ?? 'in stream'})`, {
        cause: err,
      });
    }
    if (midStream) return endedEarly(signal, err);
    return new ModelError('upstream_error', `bedrock connection failed: ${(err as Error).message}`, { cause: err });
  });
}

/** A response without an event stream: no stop event either, so it ends as "stream ended early". */
async function* noEvents(): AsyncIterable<never> {}
