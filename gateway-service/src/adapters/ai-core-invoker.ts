/**
 * Calls ai-core-service through our own Dapr sidecar (service invocation by
 * app id), carrying x-request-id and traceparent. Transport failures become
 * 503/504/502 problems, fast; ai-core's own answers pass through unchanged.
 */
import { httpError, type AppError, sidecarHeaders, sidecarUrl, type SidecarConfig } from '@context-qa/common';

export interface Forwarded {
  status: number;
  body: unknown;
}

export interface AiCore {
  send(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body: unknown, ctx: { requestId: string; traceparent?: string }): Promise<Forwarded>;
}

export function daprInvoker(
  config: SidecarConfig & { AI_CORE_APP_ID: string; AI_CORE_TIMEOUT_MS: number; AI_CORE_DIRECT_URL?: string | undefined },
): AiCore {
  const base = config.AI_CORE_DIRECT_URL ?? `${sidecarUrl(config)}/v1.0/invoke/${config.AI_CORE_APP_ID}/method`;
  return {
    async send(method, path, body, ctx) {
      let res: Response;
      try {
        res = await fetch(`${base}${path}`, {
          method,
          headers: {
            ...sidecarHeaders(config),
            'x-request-id': ctx.requestId,
            ...(ctx.traceparent ? { traceparent: ctx.traceparent } : {}),
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(config.AI_CORE_TIMEOUT_MS),
        });
      } catch (err) {
        if ((err as Error).name === 'TimeoutError') throw upstream(504, `ai-core did not answer within ${config.AI_CORE_TIMEOUT_MS} ms`, err);
        throw upstream(503, 'ai-core is unreachable (own sidecar not answering)', err);
      }
      const text = await res.text();
      const json = parseJson(text);
      const type = res.headers.get('content-type') ?? '';
      // ai-core answered (success or its own problem+json): pass it through.
      if (res.ok || type.includes('application/problem+json')) return { status: res.status, body: json ?? text };
      // Otherwise the sidecar answered for it: ai-core down, unknown, or too slow.
      const message = String((json as { message?: string } | undefined)?.message ?? text).slice(0, 300);
      if (/deadline|timeout/i.test(message)) throw upstream(504, 'ai-core timed out', message);
      if (res.status >= 500 || res.status === 404) throw upstream(503, 'ai-core is unavailable', message);
      throw upstream(502, `unexpected ${res.status} from ai-core`, message);
    },
  };
}

const upstream = (status: number, detail: string, cause: unknown): AppError => httpError(status, detail, {}, { cause });

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
