/** Secrets from a Dapr secret store through the SDK client. */
import type { DaprClient } from '@dapr/dapr';
import { withTimeout } from '../deadline';

/**
 * Reads one secret from a Dapr secret store; undefined when it does not exist.
 * Any other failure (sidecar down, store unreachable, timeout) throws, so
 * callers can tell "deleted" from "could not ask".
 */
export function daprSecret(client: DaprClient, storeName: string, timeoutMs: number) {
  return async (name: string): Promise<string | undefined> => {
    try {
      const bag = (await withTimeout(client.secret.get(storeName, name), timeoutMs, `secret ${name}`)) as Record<
        string,
        string
      >;
      return bag?.[name];
    } catch (err) {
      if (isSecretNotFound(err)) return undefined;
      throw err;
    }
  };
}

/**
 * daprd answers a missing secret like any store failure (500 ERR_SECRET_GET);
 * only the store's own reason, after "from secret store <name>: ", tells them
 * apart: "secret x not found" (local.file), `secrets "x" not found` (Kubernetes),
 * ResourceNotFoundException (AWS). The SDK wraps that body as JSON in `message`.
 */
export function isSecretNotFound(err: unknown): boolean {
  const outer = parseJson((err as Error | undefined)?.message);
  const body = parseJson(outer?.['error_msg']);
  if (body?.['errorCode'] !== 'ERR_SECRET_GET') return false;
  const reason = (typeof body['message'] === 'string' ? body['message'] : '').replace(
    /^.*? from secret store \S+: /,
    '',
  );
  return /\bnot found\b|ResourceNotFound/i.test(reason);
}

function parseJson(text: unknown): Record<string, unknown> | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
