/**
 * The answer strategies and the calls each can make: ai-core runs them and
 * lists each model's and alias's `max_calls` in its model list; the gateway
 * reserves tokens for that many calls (its call table).
 */

/** both: in parallel; fastest: first success wins; primary: the other only on failure;
 * sequential: one after the other, always both (the original sketch; a baseline);
 * fuse: both, then one final answer from the two drafts (docs/answers.md "Fusion"). */
export const STRATEGIES = ['both', 'fastest', 'primary', 'sequential', 'fuse'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/**
 * The most model calls a strategy can make over `models` models: every one of
 * them (primary may fall back through all, fastest's losers run on, both and
 * sequential call all), and fuse one synthesis on top.
 */
export function maxModelCalls(strategy: Strategy, models: number): number {
  return strategy === 'fuse' ? models + 1 : models;
}

/** One entry of ai-core's model list as the gateway's call table reads it: a name and the calls a request to it can make. */
export interface CallTableEntry {
  id: string;
  max_calls: number;
}

/**
 * The call table in ai-core's `/v1/models` answer (`data[].max_calls`): each
 * valid entry by name; undefined when the body is no model list.
 */
export function callTableOf(body: unknown): Map<string, number> | undefined {
  const data = (body as { data?: { id?: unknown; max_calls?: unknown }[] } | undefined)?.data;
  if (!Array.isArray(data)) return undefined;
  const valid = data.filter(
    (m): m is CallTableEntry =>
      typeof m?.id === 'string' && Number.isSafeInteger(m.max_calls) && Number(m.max_calls) >= 1,
  );
  return new Map(valid.map((m) => [m.id, m.max_calls]));
}
