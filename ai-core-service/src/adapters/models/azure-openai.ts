/** Deployments on Azure OpenAI (GPT-4 and any other chat deployment) through the official `openai` package. */
import { APIConnectionError, APIError, AuthenticationError, AzureOpenAI, RateLimitError } from 'openai';
import type { ChatCompletionCreateParamsBase, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { ModelName } from '@context-qa/common/contract';
import {
  ModelError,
  type FinishReason,
  type ModelErrorKind,
  type GenerateRequest,
  type ModelProvider,
  type Usage,
} from '../../domain/ports';
import { abortedOr, endedEarly, providerStream } from './errors';
import { samplingFor } from './sampling';
import { GENAI_PROVIDER } from './model-span';

export interface AzureOptions {
  name: ModelName;
  endpoint: string;
  deployment: string;
  apiVersion: string;
  /** Reads the API key (from the Dapr secret store); called at start and again after a 401. */
  apiKey: () => Promise<string>;
}

export function azureOpenAIModel(opts: AzureOptions): ModelProvider {
  let client: Promise<AzureOpenAI> | undefined;
  const connect = () =>
    (client = opts.apiKey().then(
      (apiKey) =>
        new AzureOpenAI({
          endpoint: opts.endpoint,
          deployment: opts.deployment,
          apiVersion: opts.apiVersion,
          apiKey,
          // One attempt per call: the breaker and the strategy's fallback are the only retry.
          maxRetries: 0,
        }),
    ));
  // A failed key read is retried on the next call rather than cached.
  const current = () =>
    (client ?? connect()).catch((err: unknown) => {
      client = undefined;
      throw err;
    });
  /** Runs `call`; on a 401 the key may have been rotated in the secret store, so it is re-read once. */
  const withKey = async <T>(call: (c: AzureOpenAI) => Promise<T>): Promise<T> => {
    try {
      return await call(await current());
    } catch (err) {
      if (!(err instanceof AuthenticationError)) throw err;
    }
    client = undefined; // current() reads the key again
    return call(await current());
  };
  const params = (req: GenerateRequest): ChatCompletionCreateParamsBase => {
    const { temperature, topP, stop } = samplingFor('azure-openai', req);
    return {
      model: opts.deployment,
      messages: [
        { role: 'system', content: req.system },
        ...(req.history ?? []).map((t): ChatCompletionMessageParam => ({ role: t.role, content: t.text })),
        { role: 'user', content: req.user },
      ],
      max_tokens: req.maxTokens,
      ...(temperature !== undefined ? { temperature } : {}),
      ...(topP !== undefined ? { top_p: topP } : {}),
      ...(stop ? { stop } : {}),
    };
  };

  return {
    name: opts.name,
    telemetry: { provider: GENAI_PROVIDER['azure-openai'], model: opts.deployment },
    async generate(req, signal) {
      try {
        const out = await withKey((c) => c.chat.completions.create({ ...params(req), stream: false }, { signal }));
        const choice = out.choices[0];
        const usage = out.usage ? usageOf(out.usage) : undefined;
        return {
          text: choice?.message.content ?? '',
          finishReason: finishReason(choice?.finish_reason),
          model: out.model,
          ...(usage ? { usage } : {}),
        };
      } catch (err) {
        throw toModelError(err, signal);
      }
    },

    stream: (req, signal) =>
      providerStream(
        signal,
        (s) =>
          withKey((c) =>
            c.chat.completions.create(
              { ...params(req), stream: true, stream_options: { include_usage: true } },
              { signal: s },
            ),
          ),
        // The SDK throws an `error` event as APIError, a dropped connection as undici's TypeError
        // ("terminated"), and ends quietly when the response closes early or we abort.
        (chunk, state) => {
          if (chunk.usage) state.usage = usageOf(chunk.usage);
          const choice = chunk.choices[0]; // Azure's content-filter results and the usage chunk carry none
          if (choice?.finish_reason) state.stop = finishReason(choice.finish_reason);
          return choice?.delta?.content ?? undefined;
        },
        toModelError,
      ),
  };
}

const FINISH_REASONS: Record<string, FinishReason> = { length: 'length', content_filter: 'content_filter' };
const finishReason = (reason: string | null | undefined): FinishReason => FINISH_REASONS[reason ?? ''] ?? 'stop';

const usageOf = (u: { prompt_tokens: number; completion_tokens: number }): Usage => ({
  inputTokens: u.prompt_tokens,
  outputTokens: u.completion_tokens,
});

/** Azure OpenAI HTTP statuses with a kind of their own; every other status is an upstream error. */
const KIND_BY_STATUS: Record<number, ModelErrorKind> = { 400: 'bad_request', 408: 'timeout' };

function toModelError(err: unknown, signal: AbortSignal, midStream = false): ModelError {
  return abortedOr(err, signal, () => {
    if (err instanceof RateLimitError) return new ModelError('rate_limited', 'azure openai 429', { cause: err });
    if (err instanceof AuthenticationError) return new ModelError('unauthorized', 'azure openai 401', { cause: err });
    if (err instanceof APIConnectionError)
      return new ModelError('upstream_error', `azure openai connection failed: ${err.message}`, { cause: err });
    if (err instanceof APIError && err.status === undefined) {
      // An `error` event inside the stream: no HTTP status, only Azure's code.
      const kind = err.code === '429' || err.code === 'rate_limit_exceeded' ? 'rate_limited' : 'upstream_error';
      return new ModelError(kind, `azure openai stream error ${err.code ?? ''}`.trim(), { cause: err });
    }
    if (err instanceof APIError) {
      const kind = KIND_BY_STATUS[Number(err.status)] ?? 'upstream_error';
      return new ModelError(kind, `azure openai ${err.status ?? '?'} ${err.code ?? ''}`.trim(), { cause: err });
    }
    if (midStream) return endedEarly(signal, err);
    return new ModelError('upstream_error', `azure openai: ${(err as Error).message}`, { cause: err });
  });
}
