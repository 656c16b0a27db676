/**
 * Drives one load against a URL from the bench process and returns its latency percentiles: open loop at a
 * fixed rate (testkit's steadyLoad, free of coordinated omission) or closed loop flat out (autocannon).
 */
import autocannon from 'autocannon';
import { steadyLoad } from '@context-qa/testkit';

export interface LoadSpec {
  url: string;
  /** The JSON body, or a function making a fresh one per request. */
  body: unknown;
  headers: Record<string, string>;
  durationSec: number;
  /** Fixed arrival rate (req/s over all connections); unset = as fast as `connections` allow. */
  rate?: number;
  connections?: number;
  /** Closed loop only: read each answer's x-context-qa-cache header into `cache` (open loop always tallies). */
  tallyCache?: boolean;
}

export interface LoadStats {
  requests: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  errors: number;
  non2xx: number;
  /** What ai-core's answer cache did for the 2xx answers (their `cache`: hit, miss, bypass), counted. */
  cache?: Record<string, number>;
  /** Open loop, when some requests were refused: answered (2xx) and refused (503) apart, each with its latency. */
  split?: { answered: Latency; refused: Latency & { withRetryAfter: number } };
}

export interface Latency {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** The p-th percentile (nearest rank, rounded) of ascending latencies; 0 when there are none. */
const percentile = (sorted: number[], p: number) =>
  Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0);

function latency(ms: number[]): Latency {
  const sorted = [...ms].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: Math.round(sorted.at(-1) ?? 0),
  };
}

const count = (tally: Record<string, number>, v: unknown) => {
  if (typeof v === 'string') tally[v] = (tally[v] ?? 0) + 1;
};

/**
 * Runs one load in this process (separate from every server it loads). A fixed
 * `rate` uses an open-loop generator: arrivals stay on schedule however slow the
 * answers, so latency is not hidden by coordinated omission (autocannon's
 * overallRate reported impossible latencies here: below the simulator's fixed
 * delay). Without a rate, autocannon drives `connections` flat out.
 */
export async function load(spec: LoadSpec): Promise<LoadStats> {
  return spec.rate ? openLoop(spec, spec.rate) : closedLoop(spec);
}

async function openLoop(spec: LoadSpec, rate: number): Promise<LoadStats> {
  const body = () => JSON.stringify(typeof spec.body === 'function' ? (spec.body as () => unknown)() : spec.body);
  const samples = await steadyLoad({
    rps: rate,
    durationMs: spec.durationSec * 1000,
    maxRequests: 100_000,
    timeoutMs: 30_000,
    request: (_i, signal) =>
      fetch(spec.url, {
        method: 'POST',
        signal,
        headers: { 'content-type': 'application/json', ...spec.headers },
        body: body(),
      }),
  });
  const refused = samples.filter((s) => s.status === 503);
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
  const cache: Record<string, number> = {};
  for (const s of samples)
    if (s.status >= 200 && s.status < 300) count(cache, (s.body as { cache?: unknown } | undefined)?.cache);
  const pct = (p: number) => percentile(ms, p);
  return {
    requests: samples.length,
    rps: Math.round(samples.length / spec.durationSec),
    p50: pct(50),
    p90: pct(90),
    p99: pct(99),
    max: Math.round(ms.at(-1) ?? 0),
    errors: samples.filter((s) => s.status === 0).length,
    non2xx: samples.filter((s) => s.status !== 0 && (s.status < 200 || s.status >= 300)).length,
    ...(Object.keys(cache).length ? { cache } : {}),
    ...(refused.length
      ? {
          split: {
            answered: latency(samples.filter((s) => s.status >= 200 && s.status < 300).map((s) => s.ms)),
            refused: {
              ...latency(refused.map((s) => s.ms)),
              withRetryAfter: refused.filter((s) => s.retryAfter !== undefined).length,
            },
          },
        }
      : {}),
  };
}

async function closedLoop(spec: LoadSpec): Promise<LoadStats> {
  const dynamic = typeof spec.body === 'function';
  const cache: Record<string, number> = {};
  // Only when asked: an onResponse makes autocannon buffer every answer (load generator CPU).
  const onResponse = (status: number, _body: string, _ctx: unknown, headers: Record<string, string>) => {
    if (status >= 200 && status < 300) count(cache, headers['x-context-qa-cache']);
  };
  const request = {
    method: 'POST',
    ...(dynamic
      ? {
          setupRequest: (req: autocannon.Request) => ({ ...req, body: JSON.stringify((spec.body as () => unknown)()) }),
        }
      : {}),
    ...(spec.tallyCache ? { onResponse } : {}),
  };
  const result = await autocannon({
    url: spec.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...spec.headers },
    ...(dynamic ? {} : { body: JSON.stringify(spec.body) }),
    ...(dynamic || spec.tallyCache ? { requests: [request as autocannon.Request] } : {}),
    duration: spec.durationSec,
    connections: spec.connections ?? 16,
    timeout: 30,
  });
  return {
    requests: result.requests.total,
    rps: Math.round(result.requests.total / spec.durationSec),
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    ...(Object.keys(cache).length ? { cache } : {}),
  };
}
