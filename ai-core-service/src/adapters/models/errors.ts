/**
 * What the Bedrock and Azure OpenAI adapters share around an SDK call: aborts and early stream ends mapped
 * to ModelErrors, and the stream frame that ends only on the model's stop event and closes the connection.
 */
import { ModelError, type FinishReason, type StreamEvent, type Usage } from '../../domain/ports';

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

/** What a provider reads off its SDK's stream besides the text. */
export interface StreamState {
  stop?: FinishReason;
  usage?: Usage;
}

/**
 * The frame both providers' streams share: open the SDK stream, turn its
 * events into deltas (`read` returns the text, if any, and notes the stop
 * reason and usage), end only on the model's stop event, map every failure,
 * and close the upstream connection when we stop reading early.
 */
export async function* providerStream<E>(
  signal: AbortSignal,
  open: (signal: AbortSignal) => Promise<AsyncIterable<E>>,
  read: (event: E, state: StreamState) => string | undefined,
  toModelError: (err: unknown, signal: AbortSignal, opened: boolean) => ModelError,
): AsyncIterable<StreamEvent> {
  const upstream = streamSignal(signal);
  let opened = false;
  let finished = false;
  try {
    const events = await open(upstream.signal);
    opened = true;
    const state: StreamState = {};
    for await (const event of events) {
      // An event the SDK had already buffered when we aborted is not handed on: aborted means cancelled, at once.
      if (signal.aborted) throw endedEarly(signal);
      const text = read(event, state);
      if (text) yield { type: 'delta', text };
    }
    // A response that just ends (no stop event) is quietly finished for the SDKs, not for us.
    if (!state.stop) throw endedEarly(signal);
    finished = true;
    yield { type: 'end', finishReason: state.stop, ...(state.usage ? { usage: state.usage } : {}) };
  } catch (err) {
    throw toModelError(err, signal, opened);
  } finally {
    if (!finished) upstream.close();
  }
}
