/**
 * The one way a route talks to ai-core: the call out (the request's id, the
 * tenant decided for it, its one deadline) and the answer back, whole or
 * streamed, a success or ai-core's own error: its status, the headers that
 * pass (ANSWER_HEADERS, domain/ports.ts), its body in the route's shape
 * (problem+json, or OpenAI's error shape), and what it spent, noted for the
 * limits (limits.ts). Failures to reach ai-core are the gateway's outcomes
 * (domain/outcomes.ts), thrown to the routes' error handlers.
 */
import type { Request, Response } from 'express';
import { ANSWERED_BY_HEADER, estimateTokens, readSpendEvent, type Spend } from '@context-qa/common/contract';
import { type Deadline, requestDeadline } from '@context-qa/common/deadline';
import { PROBLEM_CONTENT_TYPE } from '@context-qa/common/http';
import { openAiError } from '@context-qa/common/openai';
import { type Logger, requestContext } from '@context-qa/common/telemetry';
import { ANSWER_HEADERS, type AiCore, type AiCoreMethod, type Forwarded } from '../domain/ports';
import { noteSpend, viaAiCore } from './limits';
import { tenantHeaders } from './tenancy';

export interface AiCoreLink {
  aiCore: AiCore;
  /** One budget per request, passed on to ai-core (see docs/deadlines-and-errors.md). */
  requestTimeoutMs: number;
}

/** ai-core for one request; `headers`: the caller's own that ai-core should see (the tenant's is added). */
export function aiCoreFor(link: AiCoreLink, req: Request, res: Response, headers: Record<string, string> = {}) {
  const deadline = requestDeadline(req, res, link.requestTimeoutMs);
  const all = { ...headers, ...tenantHeaders(res) };
  const ctx = { ...(requestContext.get() ?? { requestId: '' }), ...(Object.keys(all).length ? { headers: all } : {}) };
  return {
    deadline,
    send: (method: AiCoreMethod, path: string, body?: unknown) =>
      viaAiCore(res, link.aiCore.send(method, path, body, ctx, deadline)),
    open: (method: AiCoreMethod, path: string, body?: unknown) =>
      viaAiCore(res, link.aiCore.open(method, path, body, ctx, deadline)),
  };
}

/** How a route writes an error of ai-core's: problem+json (ours and ai-core's own), or OpenAI's error shape. */
export type ErrorShape = 'problem' | 'openai';

/** A whole answer: a success through `map` (the legacy route's extra keys), an error in the route's shape. */
export function relayWhole<B>(
  res: Response,
  out: Forwarded,
  shape: ErrorShape,
  map: (body: B) => unknown = (b) => b,
): void {
  for (const [name, field] of Object.entries(ANSWER_HEADERS)) {
    const value = out[field];
    if (value) res.setHeader(name, value);
  }
  if (out.spend) noteSpend(res, out.spend);
  res.status(out.status);
  if (out.status < 400) return void res.json(map(out.body as B));
  const body = out.body as { error?: unknown; detail?: string; code?: string } | undefined;
  if (shape === 'problem')
    return void res
      .type(PROBLEM_CONTENT_TYPE)
      .send(JSON.stringify({ ...body, requestId: (requestContext.get() ?? { requestId: '' }).requestId }));
  // An OpenAI-shaped error passes as it is; a problem+json (e.g. a route ai-core does not know) still reaches OpenAI clients in their shape.
  if (typeof body?.error === 'object') return void res.json(body);
  res.json(openAiError(out.status, body?.detail ?? 'ai-core refused the request', body?.code ?? 'upstream_error'));
}

/** The stream's own framing headers, besides the answer's (ANSWER_HEADERS). */
const STREAM_HEADERS = ['content-type', 'cache-control'];
const DONE = 'data: [DONE]';

/**
 * Relays SSE as it comes, and what it spends: ai-core's final report (its
 * SPEND_TRAILER comment), or, for a stream that ends without one (cut off, the
 * caller gone), what ai-core reported so far (SPEND_SO_FAR: every call, running
 * ones at their most) with the answering model's output as relayed to the
 * caller, over `assumedInput` until its first report. Should ai-core's stream
 * break off (no [DONE], no error event at its end), the caller gets an error
 * event rather than a stream that merely stops and looks complete.
 */
export async function relayStream(
  res: Response,
  upstream: globalThis.Response,
  deadline: Deadline,
  logger: Logger,
  assumedInput: number,
): Promise<void> {
  const answering = upstream.headers.get(ANSWERED_BY_HEADER) ?? '';
  let relayedOutput = 0;
  let soFar: Spend = { [answering]: { input: assumedInput, output: 0 } };
  let final: Spend | undefined;
  noteSpend(
    res,
    () => final ?? { ...soFar, [answering]: { input: soFar[answering]?.input ?? 0, output: relayedOutput } },
  );

  res.status(upstream.status);
  for (const h of [...STREAM_HEADERS, ...Object.keys(ANSWER_HEADERS)]) {
    const v = upstream.headers.get(h);
    if (v) res.setHeader(h, v);
  }
  res.flushHeaders();
  // Whole events only: a cut inside one must not glue our error event to half of it.
  let pending = '';
  let lastEvent = '';
  const decoder = new TextDecoder();
  try {
    for await (const chunk of upstream.body as unknown as AsyncIterable<Uint8Array>) {
      pending += decoder.decode(chunk, { stream: true });
      const end = pending.lastIndexOf('\n\n');
      if (end < 0) continue;
      const events = pending
        .slice(0, end + 2)
        .split('\n\n')
        .filter((e) => e !== '');
      pending = pending.slice(end + 2);
      for (const e of events) {
        const report = readSpendEvent(e);
        if (report) {
          if (report.spend && report.final) final = report.spend;
          else if (report.spend) soFar = report.spend;
          continue;
        }
        res.write(`${e}\n\n`);
        lastEvent = e;
        const content = deltaContent(e);
        if (content) relayedOutput += estimateTokens(content);
      }
    }
  } catch (err) {
    if (deadline.reason === 'client_gone') return; // nobody to tell
    logger.warn({ err }, 'stream from ai-core broke off');
  }
  const complete = lastEvent === DONE || lastEvent.startsWith('data: {"error"');
  if (!complete && !res.writableEnded) {
    const code = deadline.reason === 'deadline' ? 'deadline_exceeded' : 'upstream_error';
    res.write(`data: ${JSON.stringify(openAiError(502, 'the answer was cut off before it finished', code))}\n\n`);
  }
  res.end();
}

/** The text a relayed chunk carries (what the caller received), if any. */
function deltaContent(event: string): string | undefined {
  if (!event.startsWith('data: {')) return undefined;
  try {
    return (
      (JSON.parse(event.slice(6)) as { choices?: { delta?: { content?: string | null } }[] }).choices?.[0]?.delta
        ?.content ?? undefined
    );
  } catch {
    return undefined;
  }
}
