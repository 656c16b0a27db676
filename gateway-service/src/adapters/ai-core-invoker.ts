/**
 * Calls ai-core-service through our own Dapr sidecar (service invocation by
 * app id), carrying x-request-id, traceparent and the request's remaining
 * budget. Transport failures become 503/504/502 problems with stable codes;
 * ai-core's own answers pass through, except a rejected app token (our
 * misconfiguration, not the caller's: 502).
 */
import {
  httpError,
  REMAINING_HEADER,
  sidecarHeaders,
  sidecarUrl,
  type AppError,
  type Deadline,
  type SidecarConfig,
} from '@context-qa/common';

export interface Forwarded {
  status: number;
  body: unknown;
  /** ai-core's Retry-After on a 503 (a model refused for load or an open breaker). */
  retryAfter?: string;
}

export interface AiCore {
  send(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body: unknown,
    ctx: { requestId: string; traceparent?: string },
    deadline: Deadline,
  ): Promise<Forwarded>;
}

/** What the sidecar and ai-core need to stop before we do: the time our own hop to them takes. */
const HOP_MARGIN_MS = 250;

export function daprInvoker(config: SidecarConfig & { AI_CORE_APP_ID: string; AI_CORE_DIRECT_URL?: string | undefined }): AiCore {
  const base = config.AI_CORE_DIRECT_URL ?? `${sidecarUrl(config)}/v1.0/invoke/${config.AI_CORE_APP_ID}/method`;
  return {
    async send(method, path, body, ctx, deadline) {
      const stopped = (err: unknown): AppError => {
        if (deadline.reason === 'deadline') return upstream(504, 'ai_core_timeout', 'ai-core did not answer within the request deadline', err);
        if (deadline.reason === 'client_gone') return upstream(499, 'client_closed', 'the client closed the request', err);
        return upstream(503, 'ai_core_unreachable', 'ai-core is unreachable (own sidecar not answering)', err);
      };
      let res: Response;
      let text: string;
      try {
        res = await fetch(`${base}${path}`, {
          method,
          headers: {
            ...sidecarHeaders(config),
            'x-request-id': ctx.requestId,
            [REMAINING_HEADER]: String(Math.max(1, deadline.remainingMs() - HOP_MARGIN_MS)),
            ...(ctx.traceparent ? { traceparent: ctx.traceparent } : {}),
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: deadline.signal,
        });
        // The body can stall after the headers: it is still ai-core being too slow.
        text = await res.text();
      } catch (err) {
        throw stopped(err);
      }
      const json = parseJson(text);
      const type = res.headers.get('content-type') ?? '';
      // ai-core refused the sidecar's app token: a deployment fault, never the caller's 401.
      if (res.status === 401) throw upstream(502, 'ai_core_rejected_token', 'ai-core refused the call', text.slice(0, 300));
      // ai-core answered (success or its own problem+json): pass it through.
      if (res.ok || type.includes('application/problem+json')) {
        const retryAfter = res.headers.get('retry-after');
        return { status: res.status, body: json ?? text, ...(retryAfter ? { retryAfter } : {}) };
      }
      // Otherwise the sidecar answered for it: ai-core down, unknown, or too slow.
      const message = String((json as { message?: string } | undefined)?.message ?? text).slice(0, 300);
      if (/deadline|timeout/i.test(message)) throw upstream(504, 'ai_core_timeout', 'ai-core timed out', message);
      if (res.status >= 500 || res.status === 404) throw upstream(503, 'ai_core_unavailable', 'ai-core is unavailable', message);
      throw upstream(502, 'ai_core_bad_response', `unexpected ${res.status} from ai-core`, message);
    },
  };
}

/** The upstream's own words (`cause`) go to the logs only. */
const upstream = (status: number, code: string, detail: string, cause: unknown): AppError => httpError(status, detail, { code }, { cause });

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
