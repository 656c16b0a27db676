/**
 * The strategies: which models a request calls, in which order, and when one
 * has answered. A call *claims* the answer when it commits to it: a whole call
 * when it ends ok, a stream at its first token (after which no fallback is
 * possible). The same rules serve whole and streamed answers.
 */
import type { ModelName, ModelOutcome, Strategy } from '@context-qa/common/contract';

export interface RunOptions {
  /** Aborts when another model won the race (`fastest`). */
  lostRace?: AbortSignal;
  /** A stream calls it at its first token: true while this call is (still) the one answering. */
  claim(): boolean;
}

/** Runs one model within the request's budget and never throws: failures come back as an outcome. */
export type Runner = (model: ModelName, opts: RunOptions) => Promise<ModelOutcome>;

/** Per model; a model not (yet) run has no entry (index access is `| undefined`: noUncheckedIndexedAccess). */
export type Outcomes = Record<ModelName, ModelOutcome>;

const notNeeded = (): ModelOutcome => ({
  status: 'skipped',
  code: 'not_needed',
  error: 'another model answered first',
  latencyMs: 0,
});

/** A runner never rejects by contract; should one, it is that model's failure, not a hung request. */
const settled = (call: Promise<ModelOutcome>): Promise<ModelOutcome> =>
  call.catch((): ModelOutcome => ({ status: 'error', code: 'upstream_error', latencyMs: 0 }));

/** Where several calls answer, none claims alone (never streamed). */
const unclaimed = { claim: () => true };

/** All models in parallel. */
async function both(order: readonly ModelName[], run: Runner): Promise<Outcomes> {
  const results = await Promise.all(order.map((m) => settled(run(m, unclaimed))));
  return Object.fromEntries(order.map((m, i) => [m, results[i]!]));
}

/**
 * All models in parallel; the first to claim the answer wins and the others
 * are told they lost (they stop, or finish in the background when their health
 * is unknown; either way nobody waits for them, and they count as not needed
 * unless they failed before the win). Settles when the winner's call has
 * ended, or when every call ended without a winner.
 */
function fastest(order: readonly ModelName[], run: Runner): Promise<Outcomes> {
  const outcomes: Outcomes = {};
  // One signal per model: a win stops the others, never the winner's own stream.
  const lost = new Map(order.map((m) => [m, new AbortController()]));
  let winner: ModelName | undefined;
  const claim = (m: ModelName) => {
    if (winner === undefined) {
      winner = m;
      lost.forEach((c, other) => other !== m && c.abort());
    }
    return winner === m;
  };
  return new Promise((resolve) => {
    let ended = 0;
    for (const m of order) {
      void settled(run(m, { lostRace: lost.get(m)!.signal, claim: () => claim(m) })).then((outcome) => {
        if (winner !== undefined && winner !== m) return; // the race is decided; this outcome comes too late to matter
        outcomes[m] = outcome;
        if (outcome.status === 'ok') claim(m); // an empty answer is still an answer
        if (winner === m || ++ended === order.length)
          resolve(Object.fromEntries(order.map((o) => [o, outcomes[o] ?? notNeeded()])));
      });
    }
  });
}

/** The preferred model; the next one only if it fails (or its breaker is open) before it claimed the answer. */
async function primary(order: readonly ModelName[], run: Runner): Promise<Outcomes> {
  const outcomes: Outcomes = {};
  let answered = false;
  for (const m of order) {
    if (answered) {
      outcomes[m] = notNeeded();
      continue;
    }
    const outcome = await settled(run(m, { claim: () => (answered = true) }));
    outcomes[m] = outcome;
    answered ||= outcome.status === 'ok';
  }
  return outcomes;
}

/** One model after the other, both always called: the original sketch's behaviour, kept as a baseline. */
async function sequential(order: readonly ModelName[], run: Runner): Promise<Outcomes> {
  const outcomes: Outcomes = {};
  for (const m of order) outcomes[m] = await settled(run(m, unclaimed));
  return outcomes;
}

export const STRATEGY_RUNNERS: Record<Strategy, (order: readonly ModelName[], run: Runner) => Promise<Outcomes>> = {
  both,
  fastest,
  primary,
  sequential,
  fuse: both, // the drafts; fuse.ts makes one answer of them
};

/** What a stream can do: one model at a time, or a race to the first token. */
export const STREAM_STRATEGIES = new Set<Strategy>(['primary', 'fastest']);
