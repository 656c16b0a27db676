/** GPT-4 on Azure OpenAI through the official `openai` package. */
import { APIConnectionError, APIError, AuthenticationError, AzureOpenAI, RateLimitError } from 'openai';
import { ModelError, type GenerateRequest, type GenerateResult, type ModelProvider } from '../../domain/ports';
import { abortedOr } from './errors';

export interface AzureOptions {
  endpoint: string;
  deployment: string;
  apiVersion: string;
  /** Reads the API key (from the Dapr secret store); called at start and again after a 401. */
  apiKey: () => Promise<string>;
}

export function azureGpt4(opts: AzureOptions): ModelProvider {
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
  const current = () => (client ?? connect()).catch((err) => ((client = undefined), Promise.reject(err)));

  const call = async (req: GenerateRequest, signal: AbortSignal): Promise<GenerateResult> => {
    const out = await (await current()).chat.completions.create(
      {
        model: opts.deployment,
        messages: [
          { role: 'system', content: req.system },
          { role: 'user', content: req.user },
        ],
        max_tokens: req.maxTokens,
      },
      { signal },
    );
    const usage = out.usage ? { inputTokens: out.usage.prompt_tokens, outputTokens: out.usage.completion_tokens } : undefined;
    return { text: out.choices[0]?.message.content ?? '', ...(usage ? { usage } : {}) };
  };

  return {
    name: 'gpt4',
    async generate(req, signal) {
      try {
        return await call(req, signal);
      } catch (err) {
        if (!(err instanceof AuthenticationError)) throw toModelError(err, signal);
      }
      // 401: the key may have been rotated in the secret store; re-read it once.
      connect();
      try {
        return await call(req, signal);
      } catch (err) {
        throw toModelError(err, signal);
      }
    },
  };
}

function toModelError(err: unknown, signal: AbortSignal): ModelError {
  return abortedOr(err, signal, () => {
    if (err instanceof RateLimitError) return new ModelError('rate_limited', 'azure openai 429', { cause: err });
    if (err instanceof AuthenticationError) return new ModelError('unauthorized', 'azure openai 401', { cause: err });
    if (err instanceof APIConnectionError) return new ModelError('upstream_error', `azure openai connection failed: ${err.message}`, { cause: err });
    if (err instanceof APIError) {
      const kind = err.status === 400 ? 'bad_request' : err.status === 408 ? 'timeout' : 'upstream_error';
      return new ModelError(kind, `azure openai ${err.status ?? '?'} ${(err as { code?: string }).code ?? ''}`.trim(), { cause: err });
    }
    return new ModelError('upstream_error', `azure openai: ${(err as Error).message}`, { cause: err });
  });
}
