/**
 * Why an answer route gave no answer, in one table both routes render: the
 * status, a stable code, the message, Retry-After, and each model's outcome.
 * `/process` renders it as problem+json, the chat route in OpenAI's error
 * shape; the rules are the same on both (they used to drift: all models
 * `bad_request` was a 400 on one and a retryable 503 on the other).
 */
import type { ModelName, ModelOutcome } from '@context-qa/common/contract';
import { type Deadline, DeadlineExceeded } from '@context-qa/common/deadline';
import { unanswered, UnknownModel, UnsupportedRouting } from '../domain/outcomes';

export interface AnswerFailure {
  status: number;
  code: string;
  message: string;
  /** The request field to blame (OpenAI's `param`). */
  param?: string;
  retryAfterS?: number;
  models?: Record<ModelName, ModelOutcome>;
}

/** Seconds after which every model throttling the call may take it again: the providers give no better hint through us. */
const THROTTLED_RETRY_AFTER_S = 5;

/** The failure for an error thrown while answering; undefined for an unexpected error (a 500). */
export function answerFailure(err: unknown, deadline: Deadline): AnswerFailure | undefined {
  if (err instanceof UnknownModel)
    return { status: 404, code: 'model_not_found', message: err.message, param: 'model' };
  if (err instanceof UnsupportedRouting)
    return { status: 400, code: 'invalid_request', message: err.message, param: err.param };
  const none = unanswered(err);
  if (!none) return undefined;
  const models = none.models;
  const codes = Object.entries(models)
    .map(([m, o]) => `${m}: ${o.code ?? o.status}`)
    .join(', ');
  if (deadline.reason === 'client_gone')
    return { status: 499, code: 'client_closed', message: 'the caller went away before a model answered', models };
  if (err instanceof DeadlineExceeded)
    return {
      status: 504,
      code: 'deadline_exceeded',
      message: `the request deadline passed before a model answered (${codes})`,
      models,
    };
  const all = (code: string) => Object.values(models).every((o) => o.code === code);
  // The caller's fault or the caller's quota: not a 5xx, which clients (OpenAI's SDKs among them) retry as is.
  if (all('bad_request'))
    return {
      status: 400,
      code: 'model_rejected_request',
      message: `every model rejected the request (${codes})`,
      models,
    };
  if (all('rate_limited'))
    return {
      status: 429,
      code: 'rate_limited',
      message: `every model is throttling (${codes})`,
      retryAfterS: THROTTLED_RETRY_AFTER_S,
      models,
    };
  return {
    status: 503,
    code: 'no_model_answered',
    message: `no model could answer (${codes})`,
    ...(none.retryAfterSeconds ? { retryAfterS: none.retryAfterSeconds } : {}),
    models,
  };
}
