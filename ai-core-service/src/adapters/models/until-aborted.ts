/**
 * A provider call that ignores its AbortSignal would hold its caller (and a
 * half-open breaker's only trial) forever. This stops waiting for it when the
 * signal aborts; the orphaned call may still settle later, and its result or
 * rejection goes nowhere (never an unhandled rejection).
 */
import { ModelError } from '../../domain/ports';

/** `work`'s result, or a `cancelled` ModelError as soon as `signal` aborts (the caller maps its own deadline to `timeout`). */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new ModelError('cancelled', 'call aborted', { cause: signal.reason }));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
