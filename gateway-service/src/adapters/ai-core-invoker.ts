/**
 * Calls ai-core-service through our own Dapr sidecar (service invocation by
 * app id), carrying x-request-id and the request's remaining
 * budget: the AiCore port (domain/ports.ts). Transport failures become the
 * gateway's ai_core_* outcomes (domain/outcomes.ts); ai-core's own answers pass
 * through, except a rejected app token (our misconfiguration, not the caller's: 502).
 */
import { parseSpend, REMAINING_HEADER, REQUEST_ID_HEADER, SPEND_HEADER } from '@context-qa/common/contract';
import {
  type SidecarConfig,
  sidecarHeaders,
  sidecarRequest,
  type SidecarResponse,
  sidecarUrl,
} from '@context-qa/common/dapr';
import type { Deadline } from '@context-qa/common/deadline';
import type { AppError } from '@context-qa/common/http';
import { outcome, type OutcomeCode } from '../domain/outcomes';
import { ANSWER_HEADERS, type AiCore, type CallContext, type Forwarded } from '../domain/ports';

/** What the sidecar and ai-core need to stop before we do: the time our own hop to them takes. */
const HOP_MARGIN_MS = 250;

export function daprInvoker(
  config: SidecarConfig & { AI_CORE_APP_ID: string; AI_CORE_DIRECT_URL?: string | undefined },
): AiCore {
  const base = config.AI_CORE_DIRECT_URL ?? `${sidecarUrl(config)}/v1.0/invoke/${config.AI_CORE_APP_ID}/method`;
  // The Dapr token is for our own sidecar only: a direct URL (benchmarks) never gets it.
  const tokenHeaders = config.AI_CORE_DIRECT_URL ? {} : sidecarHeaders(config);

  function request(method: string, path: string, body: unknown, ctx: CallContext, deadline: Deadline) {
    return {
      url: `${base}${path}`,
      method,
      headers: {
        ...tokenHeaders,
        [REQUEST_ID_HEADER]: ctx.requestId,
        [REMAINING_HEADER]: String(Math.max(1, deadline.remainingMs() - HOP_MARGIN_MS)),
        ...ctx.headers,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: deadline.signal,
    };
  }

  /** A whole answer, read through our own keep-alive client (sidecar-http.ts: a fraction of fetch's cost). */
  async function whole(
    method: string,
    path: string,
    body: unknown,
    ctx: CallContext,
    deadline: Deadline,
  ): Promise<SidecarResponse> {
    const { url, ...init } = request(method, path, body, ctx, deadline);
    try {
      return await sidecarRequest(url, init);
    } catch (err) {
      throw stopped(deadline, err);
    }
  }

  /** An answer that may stream: fetch, whose body the SSE relay reads as a web stream. */
  async function streaming(
    method: string,
    path: string,
    body: unknown,
    ctx: CallContext,
    deadline: Deadline,
  ): Promise<Response | SidecarResponse> {
    const { url, ...init } = request(method, path, body, ctx, deadline);
    try {
      const res = await fetch(url, init);
      if (res.ok && (res.headers.get('content-type') ?? '').includes('text/event-stream')) return res;
      // The body can stall after the headers: still ai-core being too slow.
      return { status: res.status, header: (name) => res.headers.get(name) ?? undefined, text: await res.text() };
    } catch (err) {
      throw stopped(deadline, err);
    }
  }

  return {
    send: async (method, path, body, ctx, deadline) => settle(await whole(method, path, body, ctx, deadline)),
    async open(method, path, body, ctx, deadline) {
      const res = await streaming(method, path, body, ctx, deadline);
      return res instanceof Response ? { stream: res } : settle(res);
    },
  };
}

/** A complete answer: ai-core's own (passed on) or the sidecar's (mapped, its words logged only). */
function settle(res: SidecarResponse): Forwarded {
  const { text, status } = res;
  const json = parseJson(text);
  const type = res.header('content-type') ?? '';
  // ai-core refused the sidecar's app token: a deployment fault, never the caller's 401.
  if (status === 401) throw upstream('ai_core_rejected_token', text.slice(0, 300));
  // ai-core answered (success, its problem+json, or an OpenAI-shaped error): pass it through.
  const openAiShaped = typeof (json as { error?: unknown } | undefined)?.error === 'object';
  if ((status >= 200 && status < 300) || type.includes('application/problem+json') || openAiShaped) {
    const out: Forwarded = { status, body: json ?? text };
    for (const [name, field] of Object.entries(ANSWER_HEADERS)) {
      const value = res.header(name);
      if (value) out[field] = value;
    }
    const spend = parseSpend(res.header(SPEND_HEADER));
    return spend ? { ...out, spend } : out;
  }
  // Otherwise the sidecar answered for it: ai-core down, unknown, or too slow.
  const message = String((json as { message?: string } | undefined)?.message ?? text).slice(0, 300);
  if (/deadline|timeout/i.test(message)) throw upstream('ai_core_timeout', message);
  if (status >= 500 || status === 404) throw upstream('ai_core_unavailable', message);
  throw upstream('ai_core_bad_response', message, `unexpected ${status} from ai-core`);
}

function stopped(deadline: Deadline, err: unknown): AppError {
  if (deadline.reason === 'deadline')
    return upstream('ai_core_timeout', err, 'ai-core did not answer within the request deadline');
  if (deadline.reason === 'client_gone') return upstream('client_closed', err);
  return upstream('ai_core_unreachable', err);
}

/** The upstream's own words (`cause`) go to the logs only. */
const upstream = (code: OutcomeCode, cause: unknown, detail?: string): AppError =>
  outcome(code, { cause, ...(detail ? { detail } : {}) });

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
