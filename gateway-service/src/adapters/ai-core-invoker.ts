/**
 * Calls ai-core-service through our own Dapr sidecar (service invocation by
 * app id), carrying x-request-id and the request's remaining
 * budget. Transport failures become 503/504/502 problems with stable codes;
 * ai-core's own answers pass through, except a rejected app token (our
 * misconfiguration, not the caller's: 502).
 */
import { ANSWER_CACHE_HEADER, ANSWERED_BY_HEADER, parseSpend, REMAINING_HEADER, REQUEST_ID_HEADER, type Spend, SPEND_HEADER } from '@context-qa/common/contract';
import { type SidecarConfig, sidecarHeaders, sidecarRequest, type SidecarResponse, sidecarUrl } from '@context-qa/common/dapr';
import type { Deadline } from '@context-qa/common/deadline';
import { type AppError, httpError } from '@context-qa/common/http';

export interface Forwarded {
  status: number;
  body: unknown;
  /** ai-core's Retry-After on a 503 (a model refused for load or an open breaker). */
  retryAfter?: string;
  /** The model that answered (ai-core's x-context-qa-model header). */
  answeredBy?: string;
  /** What ai-core's answer cache did (its x-context-qa-cache header): hit, miss or bypass. */
  cache?: string;
  /** What every model call of the request spent (ai-core's spend header): what the key is charged. */
  spend?: Spend;
}

/** Puts on our answer the headers of ai-core's that the caller should see. */
export function relayAnswerHeaders(res: { setHeader(name: string, value: string): unknown }, out: Forwarded): void {
  if (out.retryAfter) res.setHeader('retry-after', out.retryAfter);
  if (out.answeredBy) res.setHeader(ANSWERED_BY_HEADER, out.answeredBy);
  if (out.cache) res.setHeader(ANSWER_CACHE_HEADER, out.cache);
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface CallContext {
  requestId: string;
  /** Extra headers for ai-core (e.g. x-context-key). */
  headers?: Record<string, string>;
}

export interface AiCore {
  /** The whole answer. */
  send(method: Method, path: string, body: unknown, ctx: CallContext, deadline: Deadline): Promise<Forwarded>;
  /** A streamed success as the live response (its body still arriving), anything else as `send` gives it. */
  open(method: Method, path: string, body: unknown, ctx: CallContext, deadline: Deadline): Promise<Forwarded | { stream: Response }>;
}

/** What the sidecar and ai-core need to stop before we do: the time our own hop to them takes. */
const HOP_MARGIN_MS = 250;

export function daprInvoker(config: SidecarConfig & { AI_CORE_APP_ID: string; AI_CORE_DIRECT_URL?: string | undefined }): AiCore {
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
  async function whole(method: string, path: string, body: unknown, ctx: CallContext, deadline: Deadline): Promise<SidecarResponse> {
    const { url, ...init } = request(method, path, body, ctx, deadline);
    try {
      return await sidecarRequest(url, init);
    } catch (err) {
      throw stopped(deadline, err);
    }
  }

  /** An answer that may stream: fetch, whose body the SSE relay reads as a web stream. */
  async function streaming(method: string, path: string, body: unknown, ctx: CallContext, deadline: Deadline): Promise<Response | SidecarResponse> {
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
  if (status === 401) throw upstream(502, 'ai_core_rejected_token', 'ai-core refused the call', text.slice(0, 300));
  // ai-core answered (success, its problem+json, or an OpenAI-shaped error): pass it through.
  const openAiShaped = typeof (json as { error?: unknown } | undefined)?.error === 'object';
  if ((status >= 200 && status < 300) || type.includes('application/problem+json') || openAiShaped) {
    const retryAfter = res.header('retry-after');
    const answeredBy = res.header(ANSWERED_BY_HEADER);
    const cache = res.header(ANSWER_CACHE_HEADER);
    const spend = parseSpend(res.header(SPEND_HEADER));
    return {
      status,
      body: json ?? text,
      ...(retryAfter ? { retryAfter } : {}),
      ...(answeredBy ? { answeredBy } : {}),
      ...(cache ? { cache } : {}),
      ...(spend ? { spend } : {}),
    };
  }
  // Otherwise the sidecar answered for it: ai-core down, unknown, or too slow.
  const message = String((json as { message?: string } | undefined)?.message ?? text).slice(0, 300);
  if (/deadline|timeout/i.test(message)) throw upstream(504, 'ai_core_timeout', 'ai-core timed out', message);
  if (status >= 500 || status === 404) throw upstream(503, 'ai_core_unavailable', 'ai-core is unavailable', message);
  throw upstream(502, 'ai_core_bad_response', `unexpected ${status} from ai-core`, message);
}

function stopped(deadline: Deadline, err: unknown): AppError {
  if (deadline.reason === 'deadline') return upstream(504, 'ai_core_timeout', 'ai-core did not answer within the request deadline', err);
  if (deadline.reason === 'client_gone') return upstream(499, 'client_closed', 'the client closed the request', err);
  return upstream(503, 'ai_core_unreachable', 'ai-core is unreachable (own sidecar not answering)', err);
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
