/** Our answers in OpenAI's wire format: a completion, or a stream of SSE chunks. */
import type { Response } from 'express';
import { ANSWERED_BY_HEADER, MODEL_ERROR_CODES, type ModelOutcome, spendEvent } from '@context-qa/common/contract';
import { noteAccess } from '@context-qa/common/http';
import { type ChatCompletion, type ChatCompletionChunk, openAiError, usageWire } from '@context-qa/common/openai';
import type { AnswerSink } from '../domain/answer/question';
import { spending } from '../domain/spend';

export interface WireMeta {
  id: string;
  created: number;
}

export function completion(meta: WireMeta, model: string, outcome: ModelOutcome): ChatCompletion {
  return {
    ...meta,
    object: 'chat.completion',
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: outcome.text ?? '', refusal: null },
        finish_reason: outcome.finishReason ?? 'stop',
        logprobs: null,
      },
    ],
    ...(outcome.usage ? { usage: usageWire(outcome.usage) } : {}),
  };
}

/**
 * Server-Sent Events as OpenAI streams them: a role chunk, content chunks, a
 * finish chunk, a usage chunk when asked, then [DONE]. Every write goes out at
 * once (no compression, no buffering), so each hop can pass it on as it comes.
 * A failure after the first token is an `error` event and no [DONE]: OpenAI's
 * SDKs raise it, so a cut-off answer never looks complete.
 */
export function sseSink(res: Response, meta: WireMeta, includeUsage: boolean, outOfTime: () => boolean): AnswerSink {
  let model = '';
  const send = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
  const chunk = (
    delta: ChatCompletionChunk['choices'][0]['delta'],
    finish: ChatCompletionChunk['choices'][0]['finish_reason'] = null,
  ): ChatCompletionChunk => ({
    ...meta,
    object: 'chat.completion.chunk',
    model,
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    ...(includeUsage ? { usage: null } : {}),
  });
  return {
    start(m) {
      model = m;
      res.status(200);
      res.setHeader('content-type', 'text/event-stream; charset=utf-8');
      res.setHeader('cache-control', 'no-cache');
      res.setHeader(ANSWERED_BY_HEADER, m);
      res.flushHeaders();
      send(chunk({ role: 'assistant', content: '' }));
      writeSpend(res, false);
    },
    delta: (text) => void send(chunk({ content: text })),
    end(outcome) {
      send(chunk({}, outcome.finishReason ?? 'stop'));
      if (includeUsage) send({ ...chunk({}), choices: [], usage: outcome.usage ? usageWire(outcome.usage) : null });
      writeSpend(res, true);
      res.end('data: [DONE]\n\n');
    },
    fail(outcome) {
      const code = outOfTime() ? 'deadline_exceeded' : (outcome.code ?? 'upstream_error');
      const why = code === 'deadline_exceeded' ? 'the request deadline passed' : MODEL_ERROR_CODES[code];
      noteAccess(res, { streamError: code }); // the status stays 200: the access line says it broke off
      send(openAiError(502, `the answer was cut off: ${why}`, code));
      writeSpend(res, true);
      res.end();
    },
  };
}

/**
 * What the request's model calls spent, for the gateway's accounting,
 * whatever the caller asked: an SSE comment, which clients ignore and the
 * gateway does not relay. Once after the start (so far), once at the end (all).
 */
function writeSpend(res: Response, final: boolean): void {
  const meter = spending.meter();
  if (meter) res.write(spendEvent(meter.total(), final));
}

/** Writes an OpenAI error body (what OpenAI clients parse), with the request id header already set. */
export function sendOpenAiError(
  res: Response,
  status: number,
  message: string,
  code: string,
  param: string | null = null,
): void {
  res.status(status).json(openAiError(status, message, code, param));
}
