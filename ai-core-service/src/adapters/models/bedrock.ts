/** Llama 4 on AWS Bedrock through the Converse API. */
import {
  BedrockRuntimeClient,
  BedrockRuntimeServiceException,
  ConverseCommand,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ModelError, type GenerateRequest, type GenerateResult, type ModelProvider } from '../../domain/ports';
import { abortedOr } from './errors';

export interface BedrockOptions {
  region: string;
  modelId: string;
  /** Custom endpoint (the simulator); unset for real Bedrock. */
  endpoint?: string;
}

export function bedrockLlama(opts: BedrockOptions): ModelProvider {
  const client = new BedrockRuntimeClient({
    region: opts.region,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    // HTTP/1.1 keep-alive: Converse needs no HTTP/2, and the simulator speaks 1.1.
    requestHandler: new NodeHttpHandler({ httpAgent: { keepAlive: true }, httpsAgent: { keepAlive: true } }),
    // One attempt per call: the breaker and the strategy's fallback are the only retry.
    maxAttempts: 1,
  });
  return {
    name: 'llama4',
    async generate(req: GenerateRequest, signal: AbortSignal): Promise<GenerateResult> {
      try {
        const out = await client.send(
          new ConverseCommand({
            modelId: opts.modelId,
            system: [{ text: req.system }],
            messages: [{ role: 'user', content: [{ text: req.user }] }],
            inferenceConfig: { maxTokens: req.maxTokens },
          }),
          { abortSignal: signal },
        );
        const text = (out.output?.message?.content ?? []).map((c) => c.text ?? '').join('');
        const usage = out.usage ? { inputTokens: out.usage.inputTokens ?? 0, outputTokens: out.usage.outputTokens ?? 0 } : undefined;
        return { text, ...(usage ? { usage } : {}) };
      } catch (err) {
        throw toModelError(err, signal);
      }
    },
  };
}

/** Bedrock exceptions by name → the domain's failure kinds. */
function toModelError(err: unknown, signal: AbortSignal): ModelError {
  return abortedOr(err, signal, () => {
    if (err instanceof BedrockRuntimeServiceException) {
      const kind =
        err.name === 'ThrottlingException' || err.name === 'ServiceQuotaExceededException' ? 'rate_limited'
        : err.name === 'AccessDeniedException' || err.name === 'UnrecognizedClientException' ? 'unauthorized'
        : err.name === 'ValidationException' ? 'bad_request'
        : err.name === 'ModelTimeoutException' ? 'timeout'
        : 'upstream_error';
      return new ModelError(kind, `bedrock ${err.name} (${err.$metadata.httpStatusCode ?? '?'})`, { cause: err });
    }
    return new ModelError('upstream_error', `bedrock connection failed: ${(err as Error).message}`, { cause: err });
  });
}
