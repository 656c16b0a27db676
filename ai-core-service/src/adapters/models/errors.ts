import { ModelError } from '../../domain/ports';

/**
 * A call that failed because our own signal aborted it is "cancelled" (the
 * breaker wrapper turns its own deadline into "timeout"); anything else is
 * classified by the SDK-specific `classify`.
 */
export function abortedOr(err: unknown, signal: AbortSignal, classify: () => ModelError): ModelError {
  if (err instanceof ModelError) return err;
  if (signal.aborted) return new ModelError('cancelled', 'call aborted', { cause: err });
  return classify();
}

/**
 * A stream that stopped without the model's stop event: the connection dropped
 * or closed early. Both SDKs end such a stream quietly or with a transport
 * error; either way the answer is incomplete, so it is a failure (or ours, if
 * we aborted).
 */
export function endedEarly(signal: AbortSignal, cause?: unknown): ModelError {
  if (signal.aborted) return new ModelError('cancelled', 'call aborted', { cause });
  return new ModelError('upstream_error', 'stream ended before the model finished', { cause });
}

/**
 * The signal an SDK stream call runs under: follows the caller's, and is
 * aborted by `close()` when the consumer stops reading early, so the HTTP
 * connection is closed in both cases (the Bedrock SDK's event-stream iterator
 * does not destroy the response when its consumer returns early).
 */
export function streamSignal(signal: AbortSignal): { signal: AbortSignal; close(): void } {
  const own = new AbortController();
  return { signal: AbortSignal.any([signal, own.signal]), close: () => own.abort() };
}
