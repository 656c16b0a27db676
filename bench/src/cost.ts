/**
 * Scenario `cost`: what ai-core's answer cache saves and what the gateway's
 * per-key limits cost, each as a difference measured in one run.
 *
 * 1. The same prompt, both models at 300 ms: answered from the cache (every row
 *    must be all hits) vs with `Cache-Control: no-cache` (every request calls the
 *    models), at 20 req/s and, in the full run, flat out.
 * 2. The same request, zero-latency models, 50 req/s (short run: 20): through the normal gateway
 *    (limits off) vs a replica with every limit on but set far above the load,
 *    so nothing is refused and every counter (requests/min, tokens/min,
 *    tokens/day, in flight) is read and compare-and-set in the store per request.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEV_KEYS, gatewayReplica, type Stack } from '@context-qa/testkit';
import { LOAD_HEAD, loadCells, markdownTable } from './markdown';
import type { RunRow, ScenarioResult } from './run';

export const LIMITED = 'gateway-limited';
/** Every limit on, none reachable by this load: the cost of enforcement, never a refusal. */
export const limitedReplica = () =>
  gatewayReplica(LIMITED, {
    LOG_LEVEL: 'warn',
    RATE_LIMIT_DEFAULT_RPM: '1000000',
    RATE_LIMIT_DEFAULT_TPM: '100000000',
    RATE_LIMIT_DEFAULT_TPD: '1000000000',
    RATE_LIMIT_DEFAULT_MAX_IN_FLIGHT: '10000',
  });

export interface CostContext {
  stack: Stack;
  short: boolean;
  /** The API key header alone: requests that may use the answer cache. */
  auth: Record<string, string>;
  /** `auth` plus Cache-Control: no-cache: a model call every time. */
  noCache: Record<string, string>;
  run: RunRow;
  models: string[];
}

const PROMPT = { prompt: 'cost: what does answering the same question again cost?' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function post(url: string, headers: Record<string, string>, body: unknown) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { cache?: string };
  return { status: res.status, cache: json.cache, policy: res.headers.get('ratelimit-policy') };
}

export async function cost({ stack, short, auth, noCache, run, models }: CostContext): Promise<void> {
  const secs = (full: number) => (short ? 1 : full);
  const gw = `${stack.appUrl('gateway-service')}/v1/prompt`;
  const sim = stack.simulator;

  // 1. Cache hit vs model call.
  for (const m of models) await sim.setFault(m, { latencyMs: 300 });
  // The first answer is stored off the response path: ask until it comes back from the cache.
  let first;
  for (let i = 0; i < 20 && (first = await post(gw, auth, PROMPT)).cache !== 'hit'; i++) await sleep(100);
  if (first?.cache !== 'hit')
    throw new Error(`the answer cache never answered (last: ${JSON.stringify(first)}); is answerCache on?`);
  const expect = (x: ScenarioResult, want: string) => {
    const answered = x.requests - x.errors - x.non2xx;
    if (x.cache?.[want] !== answered)
      x.note = [x.note, `expected ${answered} answers to be a ${want}, got ${JSON.stringify(x.cache ?? {})}`]
        .filter(Boolean)
        .join('; ');
  };
  expect(
    await run('cost', 'model call (no-cache), 20 req/s', {
      url: gw,
      body: PROMPT,
      headers: noCache,
      durationSec: secs(10),
      rate: 20,
    }),
    'bypass',
  );
  expect(
    await run('cost', 'cache hit, 20 req/s', { url: gw, body: PROMPT, headers: auth, durationSec: secs(10), rate: 20 }),
    'hit',
  );
  if (!short) {
    const max = { url: gw, body: PROMPT, durationSec: 10, connections: 32, tallyCache: true };
    expect(
      await run(
        'cost',
        'model call (no-cache), max (32 connections)',
        { ...max, headers: noCache },
        'bounded by 32 connections / 300 ms',
      ),
      'bypass',
    );
    expect(await run('cost', 'cache hit, max (32 connections)', { ...max, headers: auth }), 'hit');
  }
  await sim.heal();

  // 2. Limits off vs on: the replica runs only now (its idle processes stayed out of the other scenarios).
  await stack.proc(`daprd:${LIMITED}`).start();
  await stack.proc(LIMITED).start();
  const limited = `${stack.appUrl(LIMITED)}/v1/prompt`;
  const request = { prompt: 'limits' };
  const [on, off] = [await post(limited, noCache, request), await post(gw, noCache, request)];
  if (on.status !== 200 || !on.policy || off.status !== 200 || off.policy)
    throw new Error(`limits not as intended: on ${JSON.stringify(on)}, off ${JSON.stringify(off)}`);
  // The short run (make test) stays well below what a just-started replica and its sidecar handle.
  const rate = short ? 20 : 50;
  await run('warm-up', LIMITED, { url: limited, body: request, headers: noCache, durationSec: secs(5), rate });
  const day = async () =>
    (
      (await (
        await fetch(`${stack.appUrl(LIMITED)}/v1/usage/dev-ask`, {
          headers: { authorization: `Bearer ${DEV_KEYS.admin}` },
        })
      ).json()) as { day: { tokens: number } }
    ).day.tokens;
  await run('cost', `limits off (gateway-service), ${rate} req/s`, {
    url: gw,
    body: request,
    headers: noCache,
    durationSec: secs(10),
    rate,
  });
  // Store failures (the replica then decides alone) are logged at most every 10 s, each line with the count since the
  // last: their sum is a lower bound (failures after the last line are not logged yet).
  const failedOpen = () =>
    readFileSync(path.join(stack.logDir, `${LIMITED}.log`), 'utf8')
      .split('\n')
      .filter((line) => line.includes('rate-limit store failed'))
      .reduce(
        (n, line) =>
          n + Number((JSON.parse(line) as { failuresSinceLastWarning?: number }).failuresSinceLastWarning ?? 1),
        0,
      );
  const [before, failedBefore] = [await day(), failedOpen()];
  const x = await run('cost', `limits on (${LIMITED}), ${rate} req/s`, {
    url: limited,
    body: request,
    headers: noCache,
    durationSec: secs(10),
    rate,
  });
  await sleep(500); // the last answers' charges are written after the response
  const [charged, failed] = [(await day()) - before, failedOpen() - failedBefore];
  x.note = `${charged > 0 ? `${charged} tokens charged to the key's daily counter` : 'no tokens charged: the counters were not touched'}; at least ${failed} limit-store calls failed (decided per replica)`;
}

/** The docs/benchmarks.md table of the cost rows: latency, the answer cache's tally, CPU of the processes that matter here. */
export function costTable(rows: ScenarioResult[], short: (p: string) => string): string[] {
  const procs = [
    'gateway-service',
    LIMITED,
    'daprd:gateway-service',
    `daprd:${LIMITED}`,
    'daprd:ai-core-service',
    'ai-core-service',
    'model-sim',
    'redis',
    'load generator',
  ].filter((p) => rows.some((x) => x.processes[p]));
  const head = ['variant', ...LOAD_HEAD, 'answers (cache)', ...procs.map((p) => `${short(p)} CPU%`)];
  const body = rows.map((x) => [
    x.variant,
    ...loadCells(x),
    Object.entries(x.cache ?? {})
      .map(([k, n]) => `${k} ${n}`)
      .join(', '),
    ...procs.map((p) => x.processes[p]?.cpuPercent ?? ''),
  ]);
  const notes = rows.filter((x) => x.note).map((x) => `${x.variant}: ${x.note}.`);
  return markdownTable(
    'Cost (scenario cost): answer-cache hit vs model call (both models 300 ms), limits on vs off (zero-latency models):',
    head,
    body,
    notes,
  );
}
