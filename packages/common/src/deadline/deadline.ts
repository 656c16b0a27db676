/**
 * One deadline per request. The gateway starts the budget; every hop passes
 * what is left in REMAINING_HEADER (a relative duration, so clock skew between
 * pods does not matter) and derives one AbortSignal from it and from its own
 * caller going away. Every outbound call takes that signal.
 */
import type { Request, Response } from 'express';
import { REMAINING_HEADER } from '../contract';

export type StopReason = 'deadline' | 'client_gone';

export class Deadline {
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly endsAt: number;
  private readonly timer: NodeJS.Timeout;

  constructor(budgetMs: number, parent?: AbortSignal) {
    this.endsAt = Date.now() + budgetMs;
    this.signal = this.controller.signal;
    this.timer = setTimeout(() => this.stop('deadline'), budgetMs).unref();
    parent?.addEventListener('abort', () => this.stop('client_gone'), { once: true });
  }

  /** Milliseconds left (0 once passed). */
  remainingMs(): number {
    return Math.max(0, this.endsAt - Date.now());
  }

  /** Why the signal aborted, if it did. */
  get reason(): StopReason | undefined {
    return this.signal.aborted ? (this.signal.reason as StopReason) : undefined;
  }

  stop(reason: StopReason): void {
    clearTimeout(this.timer);
    if (!this.signal.aborted) this.controller.abort(reason);
  }

  /** Frees the timer once the request has been answered. */
  done(): void {
    clearTimeout(this.timer);
  }
}

/**
 * The deadline of an incoming request, aborted early if the client leaves
 * before the response is complete. `trustCaller`: take the caller's remaining
 * budget (capped by our own maximum) — only from our own gateway: a public
 * caller's tiny budgets would turn every model call into an inconclusive one.
 */
export function requestDeadline(req: Request, res: Response, maxMs: number, trustCaller = false): Deadline {
  const given = trustCaller ? Number(req.header(REMAINING_HEADER)) : NaN;
  const budget = Number.isFinite(given) && given > 0 ? Math.min(given, maxMs) : maxMs;
  const gone = new AbortController();
  // The client may already have left (during auth or body parsing): then 'close' has fired.
  if (res.closed) gone.abort();
  res.once('close', () => {
    if (!res.writableFinished) gone.abort();
  });
  const deadline = new Deadline(budget, gone.signal);
  res.once('finish', () => deadline.done());
  return deadline;
}
