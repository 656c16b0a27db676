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
