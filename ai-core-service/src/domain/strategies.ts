import type { ModelName, ModelOutcome, Strategy } from '@context-qa/common/contract';

/**
 * Runs one model within the request's budget and never throws: failures come
 * back as an outcome. `lostRace` tells the model another one already answered.
 */
export type Runner = (model: ModelName, opts?: { lostRace?: AbortSignal }) => Promise<ModelOutcome>;

/** Per model; a model not (yet) run has no entry (index access is `| undefined`: noUncheckedIndexedAccess). */
export type Outcomes = Record<ModelName, ModelOutcome>;

const notNeeded = (): ModelOutcome => ({ status: 'skipped', code: 'not_needed', error: 'another model answered first', latencyMs: 0 });

/** All models in parallel. */
async function both(order: readonly ModelName[], run: Runner): Promise<Outcomes> {
  const results = await Promise.all(order.map((m) => run(m)));
  return Object.fromEntries(order.map((m, i) => [m, results[i]!]));
}

/**
 * All models in parallel; the first success answers at once and the others are
 * told they lost (they stop, or finish in the background when their health is
 * unknown; either way the response does not wait for them).
 */
function fastest(order: readonly ModelName[], run: Runner): Promise<Outcomes> {
  const lost = new AbortController();
  const outcomes: Outcomes = {};
  return new Promise((resolve) => {
    let pending = order.length;
    for (const m of order) {
      // A runner never rejects by contract; should one, it is that model's failure, not a hung request.
      const settled = run(m, { lostRace: lost.signal }).catch((): ModelOutcome => ({ status: 'error', code: 'upstream_error', latencyMs: 0 }));
      void settled.then((outcome) => {
        if (lost.signal.aborted) return; // the race is decided; this outcome comes too late to matter
        outcomes[m] = outcome;
        if (outcome.status === 'ok') {
          lost.abort();
          resolve(Object.fromEntries(order.map((o) => [o, outcomes[o] ?? notNeeded()])));
        } else if (--pending === 0) resolve(outcomes);
      });
    }
  });
}

/** The preferred model; the next one only if it fails or its breaker is open. */
async function primary(order: readonly ModelName[], run: Runner): Promise<Outcomes> {
  const outcomes: Outcomes = {};
  for (const m of order) {
    outcomes[m] = Object.values(outcomes).some((o) => o.status === 'ok') ? notNeeded() : await run(m);
  }
  return outcomes;
}

/** One model after the other, both always called: the original sketch's behaviour, kept as a baseline. */
async function sequential(order: readonly ModelName[], run: Runner): Promise<Outcomes> {
  const outcomes: Outcomes = {};
  for (const m of order) outcomes[m] = await run(m);
  return outcomes;
}

export const STRATEGY_RUNNERS: Record<Strategy, (order: readonly ModelName[], run: Runner) => Promise<Outcomes>> = {
  both,
  fastest,
  primary,
  sequential,
  fuse: both, // the drafts; fuse.ts makes one answer of them
};
