/** A dependency's own budget: the error when it is spent, and a bound for calls that cannot be cancelled. */

/** Thrown when a dependency did not answer within its budget. */
export class DeadlineExceeded extends Error {
  override name = 'DeadlineExceeded';
}

/**
 * Bounds a call the SDK cannot cancel (the Dapr JS SDK takes no AbortSignal):
 * we stop waiting; the sidecar's resiliency timeout ends the call there.
 */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}
