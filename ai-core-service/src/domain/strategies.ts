import type { ModelName, ModelOutcome, Strategy } from '@context-qa/common';

/** Runs one model and never throws: failures come back as an outcome status. */
export type Runner = (model: ModelName, signal: AbortSignal) => Promise<ModelOutcome>;

export type Outcomes = Partial<Record<ModelName, ModelOutcome>>;

const notCalled = (why: string): ModelOutcome => ({ status: 'skipped', latencyMs: 0, error: why });

/** All models in parallel; each is bounded by its own deadline. */
async function both(order: readonly ModelName[], run: Runner): Promise<Outcomes> {
  const never = new AbortController().signal;
  const results = await Promise.all(order.map((m) => run(m, never)));
  return Object.fromEntries(order.map((m, i) => [m, results[i]!]));
}

/** All models in parallel; the first success cancels the others. */
async function fastest(order: readonly ModelName[], run: Runner): Promise<Outcomes> {
  const controllers = order.map(() => new AbortController());
  const results = await Promise.all(
    order.map((m, i) =>
      run(m, controllers[i]!.signal).then((outcome) => {
        if (outcome.status === 'ok') controllers.forEach((c, j) => j !== i && c.abort());
        return outcome;
      }),
    ),
  );
  return Object.fromEntries(order.map((m, i) => [m, results[i]!]));
}

/** The preferred model; the next one only if it fails or its breaker is open. */
async function primary(order: readonly ModelName[], run: Runner): Promise<Outcomes> {
  const outcomes: Outcomes = {};
  const never = new AbortController().signal;
  for (const m of order) {
    if (Object.values(outcomes).some((o) => o.status === 'ok')) outcomes[m] = notCalled('not needed: the primary answered');
    else outcomes[m] = await run(m, never);
  }
  return outcomes;
}

/** One model after the other, both always called: the original sketch's behaviour, kept as a baseline. */
async function sequential(order: readonly ModelName[], run: Runner): Promise<Outcomes> {
  const outcomes: Outcomes = {};
  const never = new AbortController().signal;
  for (const m of order) outcomes[m] = await run(m, never);
  return outcomes;
}

export const STRATEGY_RUNNERS: Record<Strategy, (order: readonly ModelName[], run: Runner) => Promise<Outcomes>> = {
  both,
  fastest,
  primary,
  sequential,
};
