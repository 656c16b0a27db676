/**
 * The playground's calls to the gateway's public API (same origin, the key as
 * Bearer). Both error shapes, problem+json and OpenAI's, become one ApiError.
 * Types only from @context-qa/common: the page ships no server code.
 */
import type { z } from 'zod';
import type { AskRequest, AskResponse, problemSchema } from '@context-qa/common/contract';
import type { ChatCompletionChunk, OpenAiError } from '@context-qa/common/openai';

type Problem = z.infer<typeof problemSchema>;

export interface FieldError {
  /** The request field it is about, as the API names it (`prompt`, `text`, `max_tokens`…). */
  path: string;
  message: string;
}

/** A refused or failed call: status, the API's stable code, and what to show. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | undefined,
    readonly fields: FieldError[] = [],
  ) {
    super(message);
  }
}

const requestIdOf = (res: Response) => res.headers.get('x-request-id') ?? undefined;

async function failure(res: Response): Promise<ApiError> {
  const body = (await res.json().catch(() => undefined)) as Problem | OpenAiError | undefined;
  if (body && 'error' in body) {
    const { message, code, param } = body.error;
    return new ApiError(
      res.status,
      code ?? body.error.type,
      message,
      requestIdOf(res),
      param ? [{ path: param, message }] : [],
    );
  }
  if (body && 'code' in body) {
    const message = body.detail ?? body.title;
    return new ApiError(res.status, body.code, message, body.requestId ?? requestIdOf(res), body.errors ?? []);
  }
  return new ApiError(
    res.status,
    `http_${res.status}`,
    res.statusText || 'the gateway gave no readable answer',
    requestIdOf(res),
  );
}

function call(apiKey: string, method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${apiKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    ...(signal ? { signal } : {}),
  });
}

async function json<T>(res: Response): Promise<T> {
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

/** The question as the page sends it; anything the person typed goes to the API unchanged, which validates it. */
export type AskInput = Omit<AskRequest, 'maxTokens'> & { maxTokens?: unknown };

/** POST /v1/prompt: the whole answer with every model's outcome. */
export async function ask(apiKey: string, input: AskInput, signal: AbortSignal): Promise<AskResponse> {
  return json<AskResponse>(await call(apiKey, 'POST', '/v1/prompt', input, signal));
}

export interface ChatStream {
  requestId: string | undefined;
  chunks: AsyncGenerator<ChatCompletionChunk>;
}

/**
 * POST /v1/chat/completions with stream: true; the strategy is the model alias.
 * An error event in the stream is thrown from `chunks`.
 */
export async function streamChat(apiKey: string, input: AskInput, signal: AbortSignal): Promise<ChatStream> {
  const body = {
    model: input.strategy,
    messages: [{ role: 'user', content: input.prompt }],
    stream: true,
    stream_options: { include_usage: true },
    ...(input.contextKey !== undefined ? { context_key: input.contextKey } : {}),
    ...(input.maxTokens !== undefined ? { max_tokens: input.maxTokens } : {}),
  };
  const res = await call(apiKey, 'POST', '/v1/chat/completions', body, signal);
  if (!res.ok || !res.body) throw await failure(res);
  const requestId = requestIdOf(res);
  return { requestId, chunks: sseChunks(res.body, requestId) };
}

/**
 * Each server-sent event's data. A reader loop, not `for await` over the body:
 * Safari and Chromium before 124 cannot iterate a ReadableStream. Line endings
 * per the SSE spec (\r\n, \n or \r), and "data:" with or without its space.
 */
async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let pending = '';
  let data: string[] = [];
  let done = false;
  try {
    while (!done) {
      const read = await reader.read();
      done = read.done;
      pending += decoder.decode(read.value, { stream: !done });
      // A trailing \r waits for the next read: it may be the first half of \r\n.
      const cut = !done && pending.endsWith('\r') ? pending.length - 1 : pending.length;
      const lines = pending.slice(0, cut).split(/\r\n|\r|\n/);
      pending = (done ? '' : (lines.pop() ?? '')) + pending.slice(cut);
      for (const line of lines) {
        if (line.startsWith('data:')) data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
        else if (line === '' && data.length) {
          const event = data.join('\n');
          data = [];
          yield event;
        }
      }
    }
  } finally {
    // Left early (an error event, [DONE]): close the connection rather than leave it to the server.
    if (!done) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

async function* sseChunks(
  body: ReadableStream<Uint8Array>,
  requestId: string | undefined,
): AsyncGenerator<ChatCompletionChunk> {
  for await (const data of sseData(body)) {
    if (data === '[DONE]') return;
    let event: ChatCompletionChunk | OpenAiError;
    try {
      event = JSON.parse(data) as ChatCompletionChunk | OpenAiError;
    } catch {
      throw new ApiError(502, 'bad_stream', 'the stream carried an event that is not JSON', requestId);
    }
    if ('error' in event) throw new ApiError(200, event.error.code ?? event.error.type, event.error.message, requestId);
    yield event;
  }
  throw new ApiError(502, 'stream_cut_off', 'the stream ended before it finished', requestId);
}

export interface StoredContext {
  key: string;
  text: string;
}

const contextPath = (key: string) => `/v1/context/${encodeURIComponent(key)}`;

/** GET/PUT/DELETE /v1/context/{key} (admin scope). */
export const contexts = {
  get: async (apiKey: string, key: string) => json<StoredContext>(await call(apiKey, 'GET', contextPath(key))),
  put: async (apiKey: string, key: string, body: { text: string; ttlSeconds?: unknown }) =>
    json<object>(await call(apiKey, 'PUT', contextPath(key), body)),
  remove: async (apiKey: string, key: string) => json<object>(await call(apiKey, 'DELETE', contextPath(key))),
};
