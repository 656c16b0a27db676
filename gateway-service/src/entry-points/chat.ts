/**
 * The OpenAI-compatible surface: `POST /v1/chat/completions` and
 * `GET /v1/models`. Same API keys (OpenAI SDKs send `Authorization: Bearer`),
 * scopes and request ids as the rest; errors in OpenAI's shape. The request is
 * validated here and relayed to ai-core through the sidecar; a stream is
 * relayed chunk by chunk as it arrives.
 */
import type { Request, RequestHandler, Response } from 'express';
import {
  AI_CORE_ROUTES,
  ANSWER_CACHE_HEADER,
  ANSWERED_BY_HEADER,
  CONTEXT_KEY_HEADER,
  contextKeySchema,
  estimateTokens,
  readSpendEvent,
  type Spend,
} from '@context-qa/common/contract';
import { type Deadline, requestDeadline } from '@context-qa/common/deadline';
import { type ChatRequest, chatRequestSchema, openAiError } from '@context-qa/common/openai';
import { type Logger, requestContext } from '@context-qa/common/telemetry';
import { relayAnswerHeaders, type AiCore, type Forwarded } from '../adapters/ai-core-invoker';
import { chatInputTokens, estimates, limitRequests, noteSpend, viaAiCore, type LimitDeps } from './limits';
import { tenantHeaders } from './tenancy';

type Routes = { add(method: 'get' | 'post', path: string, ...h: RequestHandler[]): void };

/** Headers of ai-core's answer the caller should see. */
const RELAYED = ['content-type', 'cache-control', ANSWERED_BY_HEADER, ANSWER_CACHE_HEADER, 'retry-after'];

export function mountChatRoutes(
  routes: Routes,
  deps: { aiCore: AiCore; admit: RequestHandler; ask: RequestHandler; perKey: RequestHandler; body: RequestHandler[]; requestTimeoutMs: number; logger: Logger; limits: LimitDeps },
): void {
  const ctx = (req: Request, res: Response) => {
    const contextKey = req.header(CONTEXT_KEY_HEADER);
    const cacheControl = req.header('cache-control'); // no-cache: ai-core skips its answer cache
    const headers = { ...(contextKey ? { [CONTEXT_KEY_HEADER]: contextKey } : {}), ...(cacheControl ? { 'cache-control': cacheControl } : {}), ...tenantHeaders(res) };
    return { ...(requestContext.get() ?? { requestId: '' }), ...(Object.keys(headers).length ? { headers } : {}) };
  };
  const deadline = (req: Request, res: Response) => requestDeadline(req, res, deps.requestTimeoutMs);

  routes.add('get', '/v1/models', deps.ask, async (req, res) => {
    relayWhole(res, await deps.aiCore.send('GET', AI_CORE_ROUTES.models.path, undefined, ctx(req, res), deadline(req, res)));
  });

  /** Bad requests are refused before they count against a key's limits. */
  const validate: RequestHandler = (req, res, next) => {
    const parsed = chatRequestSchema.safeParse(req.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const param = issue.path.join('.') || null;
      return void res.status(400).json(openAiError(400, `${param ?? 'body'}: ${issue.message}`, 'invalid_request', param));
    }
    const headerKey = req.header(CONTEXT_KEY_HEADER);
    if (headerKey !== undefined && !contextKeySchema.safeParse(headerKey).success) {
      return void res.status(400).json(openAiError(400, `${CONTEXT_KEY_HEADER}: 1–512 characters, without "||"`, 'invalid_request', CONTEXT_KEY_HEADER));
    }
    req.body = parsed.data;
    next();
  };

  routes.add('post', '/v1/chat/completions', deps.admit, deps.ask, deps.perKey, ...deps.body, validate, limitRequests(deps.limits, estimates.chat), async (req, res) => {
    const d = deadline(req, res);
    const out = await viaAiCore(res, deps.aiCore.open('POST', AI_CORE_ROUTES.chatCompletions.path, req.body, ctx(req, res), d));
    if (!('stream' in out)) {
      if (out.spend) noteSpend(res, out.spend);
      return relayWhole(res, out);
    }
    // A stream that ends without ai-core's trailer (cut off, the caller gone) pays what ai-core reported so far
    // (every call, running ones at their most) with the answering model's output as relayed to the caller.
    const answering = out.stream.headers.get(ANSWERED_BY_HEADER) ?? '';
    let relayedOutput = 0;
    let soFar: Spend = {
      [answering]: { input: chatInputTokens(req.body as ChatRequest) + deps.limits.assumedContextTokens, output: 0 },
    };
    let final: Spend | undefined;
    noteSpend(res, () => final ?? { ...soFar, [answering]: { input: soFar[answering]?.input ?? 0, output: relayedOutput } });
    await relayStream(res, out.stream, d, deps.logger, {
      onContent: (text) => void (relayedOutput += estimateTokens(text)),
      onSpend: (spend, whole) => void (whole ? (final = spend) : (soFar = spend)),
    });
  });
}

function relayWhole(res: Response, out: Forwarded): void {
  relayAnswerHeaders(res, out);
  // A problem+json from ai-core (e.g. a route it does not know) still reaches OpenAI clients in their shape.
  const body = out.body as { error?: unknown; detail?: string; code?: string };
  if (out.status >= 400 && typeof body?.error !== 'object') {
    return void res.status(out.status).json(openAiError(out.status, body?.detail ?? 'ai-core refused the request', body?.code ?? 'upstream_error'));
  }
  res.status(out.status).json(out.body);
}

const DONE = 'data: [DONE]';

/** The text a relayed chunk carries (what the caller received), if any. */
function deltaContent(event: string): string | undefined {
  if (!event.startsWith('data: {')) return undefined;
  try {
    return (JSON.parse(event.slice(6)) as { choices?: { delta?: { content?: string | null } }[] }).choices?.[0]?.delta?.content ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * Relays SSE as it comes. Should ai-core's stream break off (no [DONE], no
 * error event at its end), the caller gets an error event rather than a
 * stream that merely stops and looks complete.
 */
async function relayStream(
  res: Response,
  upstream: globalThis.Response,
  deadline: Deadline,
  logger: Logger,
  spent: { onContent: (text: string) => void; onSpend: (spend: Spend, whole: boolean) => void },
): Promise<void> {
  res.status(upstream.status);
  for (const h of RELAYED) {
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
          if (report.spend) spent.onSpend(report.spend, report.final);
          continue;
        }
        res.write(`${e}\n\n`);
        lastEvent = e;
        const content = deltaContent(e);
        if (content) spent.onContent(content);
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
