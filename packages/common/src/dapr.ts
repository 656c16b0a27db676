/** Dapr access shared by both services: the SDK client, secrets, sidecar readiness, deadlines. */
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr';
import { sidecarRequest } from './sidecar-http';

export interface SidecarConfig {
  DAPR_HOST: string;
  DAPR_HTTP_PORT: number;
  DAPR_API_TOKEN?: string | undefined;
}

export const sidecarUrl = (c: SidecarConfig): string => `http://${c.DAPR_HOST}:${c.DAPR_HTTP_PORT}`;

/** Headers every call to our own sidecar carries (its API token when it has one). */
export const sidecarHeaders = (c: SidecarConfig): Record<string, string> => (c.DAPR_API_TOKEN ? { 'dapr-api-token': c.DAPR_API_TOKEN } : {});

/**
 * The SDK client over HTTP. Its first call waits (up to ~60 s) for the sidecar,
 * so it is started here in the background and readiness checks the sidecar directly.
 */
export function createDaprClient(c: SidecarConfig): DaprClient {
  const client = new DaprClient({
    daprHost: c.DAPR_HOST,
    daprPort: String(c.DAPR_HTTP_PORT),
    communicationProtocol: CommunicationProtocolEnum.HTTP,
    ...(c.DAPR_API_TOKEN ? { daprApiToken: c.DAPR_API_TOKEN } : {}),
    logger: { level: LogLevel.Error },
  });
  // Wait for the sidecar now, off the request path; if it never comes, the
  // first real call tries again and fails within its own deadline.
  client.start().catch(() => undefined);
  return client;
}

/** Fast readiness probe: the sidecar's outbound APIs (components loaded) answer. */
export async function sidecarReady(c: SidecarConfig, timeoutMs = 500): Promise<boolean> {
  const res = await sidecarRequest(`${sidecarUrl(c)}/v1.0/healthz/outbound`, { headers: sidecarHeaders(c), timeoutMs });
  return res.status >= 200 && res.status < 300;
}

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

/**
 * Reads one secret from a Dapr secret store; undefined when it does not exist.
 * Any other failure (sidecar down, store unreachable, timeout) throws, so
 * callers can tell "deleted" from "could not ask".
 */
export function daprSecret(client: DaprClient, storeName: string, timeoutMs: number) {
  return async (name: string): Promise<string | undefined> => {
    try {
      const bag = (await withTimeout(client.secret.get(storeName, name), timeoutMs, `secret ${name}`)) as Record<string, string>;
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
  const reason = (typeof body['message'] === 'string' ? body['message'] : '').replace(/^.*? from secret store \S+: /, '');
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

export type { DaprClient };
