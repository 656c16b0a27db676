/** Our own sidecar: where it is, the SDK client over HTTP, and its readiness. */
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr';
import { sidecarRequest } from './sidecar-http';

export interface SidecarConfig {
  DAPR_HOST: string;
  DAPR_HTTP_PORT: number;
  DAPR_API_TOKEN?: string | undefined;
}

export const sidecarUrl = (c: SidecarConfig): string => `http://${c.DAPR_HOST}:${c.DAPR_HTTP_PORT}`;

/** Headers every call to our own sidecar carries (its API token when it has one). */
export const sidecarHeaders = (c: SidecarConfig): Record<string, string> =>
  c.DAPR_API_TOKEN ? { 'dapr-api-token': c.DAPR_API_TOKEN } : {};

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

export type { DaprClient };
