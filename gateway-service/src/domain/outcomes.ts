/**
 * Every way the gateway answers without an answer of ai-core's, in one table:
 * the status, a stable code, the default message and Retry-After. Routes throw
 * them; the shared handlers render them as problem+json on the public and
 * admin routes and in OpenAI's error shape on the OpenAI routes (routes.ts).
 * ai-core's own errors are not here: they are relayed (entry-points/relay.ts).
 */
import { type AppError, httpError } from '@context-qa/common/http';

interface Row {
  status: number;
  /** The message when the caller gives none. */
  detail?: string;
  /** Retry-After (s) unless the caller gives its own; absent: none. */
  retryAfterS?: number;
}

export const OUTCOMES = {
  // Before the request is looked at.
  overloaded: { status: 503, detail: 'the gateway is at capacity; retry shortly', retryAfterS: 1 },
  // Authentication and tenancy (entry-points/authenticate.ts, tenancy.ts).
  keys_not_loaded: { status: 503, detail: 'API keys are not loaded yet; retry shortly', retryAfterS: 1 },
  unauthorized: { status: 401, detail: 'API key not recognised' },
  forbidden: { status: 403 },
  invalid_tenant: { status: 400 },
  tenant_not_granted: { status: 403 },
  key_not_found: { status: 404, detail: 'no API key with this id in your tenant' },
  // Per-key limits (entry-points/limits.ts, key-concurrency.ts).
  exceeds_token_limit: { status: 400 },
  rate_limit_exceeded: { status: 429, retryAfterS: 1 },
  limits_unavailable: { status: 503, detail: 'limits cannot be checked right now; retry shortly', retryAfterS: 1 },
  // ai-core not answering for itself (adapters/ai-core-invoker.ts): the sidecar's words go to the logs only.
  ai_core_unreachable: { status: 503, detail: 'ai-core is unreachable (own sidecar not answering)' },
  ai_core_unavailable: { status: 503, detail: 'ai-core is unavailable' },
  ai_core_timeout: { status: 504, detail: 'ai-core timed out' },
  ai_core_rejected_token: { status: 502, detail: 'ai-core refused the call' },
  ai_core_bad_response: { status: 502 },
  client_closed: { status: 499, detail: 'the client closed the request' },
} as const satisfies Record<string, Row>;

export type OutcomeCode = keyof typeof OUTCOMES;

export interface OutcomeOptions {
  detail?: string;
  retryAfterS?: number;
  /** More fields for the body (e.g. `limit`). */
  extra?: Record<string, unknown>;
  /** Logged, never sent. */
  cause?: unknown;
}

/** The outcome as the error the route handlers render; for a caller that sets no headers (an adapter). */
export function outcome(code: OutcomeCode, opts: OutcomeOptions = {}): AppError {
  const row: Row = OUTCOMES[code];
  return httpError(
    row.status,
    opts.detail ?? row.detail,
    { code, ...opts.extra },
    opts.cause === undefined ? undefined : { cause: opts.cause },
  );
}

/** The outcome, its headers (Retry-After, the 401's challenge) set on the response about to carry it. */
export function refuse(
  res: { setHeader(name: string, value: string): unknown },
  code: OutcomeCode,
  opts: OutcomeOptions = {},
): AppError {
  const row: Row = OUTCOMES[code];
  const retryAfterS = opts.retryAfterS ?? row.retryAfterS;
  if (retryAfterS !== undefined) res.setHeader('retry-after', String(retryAfterS));
  if (code === 'unauthorized') res.setHeader('www-authenticate', 'Bearer');
  return outcome(code, opts);
}
