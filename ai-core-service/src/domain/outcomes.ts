/**
 * How answering can end without an answer, for the outcome table
 * (entry-points/failures.ts), and when an answer counts as degraded.
 */
import type { ModelErrorCode, ModelName, ModelOutcome } from '@context-qa/common/contract';
import { DeadlineExceeded } from '@context-qa/common/deadline';
import type { CallBudget } from './ports';

/** Seconds until a model refused for load (its bulkhead) or an open breaker may take calls again. */
const RETRY_AFTER_S: Partial<Record<ModelErrorCode, number>> = { overloaded: 1, circuit_open: 5 };

/** No model answered: carries every model's outcome for the 503 (or, as a DeadlineExceeded's cause, the 504). */
export class NoModelAnswered extends Error {
  override name = 'NoModelAnswered';
  constructor(readonly models: Record<ModelName, ModelOutcome>) {
    super('no model produced an answer');
  }

  /** A model refused for load or an open breaker may take calls again soon: when (0: no hint). */
  get retryAfterSeconds(): number {
    return Math.max(0, ...Object.values(this.models).map((o) => (o.code ? (RETRY_AFTER_S[o.code] ?? 0) : 0)));
  }
}

/** The `model` field names neither a model nor an alias (a 404). */
export class UnknownModel extends Error {
  override name = 'UnknownModel';
}

/** The request asks for something its route cannot do (a 400 naming the field). */
export class UnsupportedRouting extends Error {
  override name = 'UnsupportedRouting';
  constructor(
    message: string,
    readonly param = 'stream',
  ) {
    super(message);
  }
}

/**
 * Why no model answered: the budget ran out (a call can end a moment before the
 * budget's own timer fires): common's DeadlineExceeded, with the models' outcomes
 * as its cause; or they all failed.
 */
export function noAnswer(budget: CallBudget, models: Record<ModelName, ModelOutcome>): Error {
  const none = new NoModelAnswered(models);
  if (!budget.signal.aborted && budget.remainingMs() > 0) return none;
  return new DeadlineExceeded('the request deadline passed before a model answered', { cause: none });
}

/** The models' outcomes of a failure noAnswer made; undefined for any other error. */
export function unanswered(err: unknown): NoModelAnswered | undefined {
  const inner = err instanceof DeadlineExceeded ? err.cause : err;
  return inner instanceof NoModelAnswered ? inner : undefined;
}

const FAILED = new Set(['error', 'timeout', 'circuit_open']);
/** A model that failed (not one we stopped or did not need): the answer is degraded. */
export const isFailure = (o: ModelOutcome | undefined) =>
  o !== undefined && (FAILED.has(o.status) || o.code === 'overloaded');
