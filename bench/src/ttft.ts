/**
 * Time to first token and to the last one, measured with the official `openai`
 * client as an application would use it: sequential requests (one at a time,
 * so each number is a single caller's latency, not a queue's), a bounded count
 * and a bounded time per variant, loopback only.
 *
 * Streamed: time to the first chunk with content (the role chunk, and Azure's
 * content-filter chunk before it, carry none) and to the end of the stream,
 * which the server closes right after `data: [DONE]`; also the gaps between
 * content chunks as they reached this process (a hop that buffered would show
 * as bursts of near-zero gaps). Not streamed: time to the whole JSON answer.
 */
import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { LoadStats } from './load';

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** What a TTFT row adds to the usual latency figures (which are the time to the last token / whole answer). */
export interface TtftExtras {
  /** Streams only: time to the first content chunk. */
  ttft: Percentiles;
  /** Median number of content chunks per answer (streams), as counted by the client. */
  chunks: number;
  /** Streams only: median and 10th percentile of the gaps between consecutive content chunks, ms. */
  gapP50: number;
  gapP10: number;
  /** Which model answered (the chunk's or completion's `model`), and how often. */
  answeredBy: Record<string, number>;
}

export interface TtftSpec {
  client: OpenAI;
  model: string;
  stream: boolean;
  messages: ChatCompletionMessageParam[];
  maxTokens?: number;
  /** Measured requests; stops earlier when `maxSeconds` have passed. */
  requests: number;
  maxSeconds: number;
  /** Unmeasured requests first (connections, JIT). */
  warmup: number;
  timeoutMs?: number;
}

export type TtftStats = LoadStats & Partial<TtftExtras> & { firstError?: string };

interface Sample {
  ok: boolean;
  first?: number;
  last: number;
  chunks: number;
  gaps: number[];
  model?: string;
  error?: string;
}

export function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (!(host === 'localhost' || host.startsWith('127.') || host === '[::1]'))
    throw new Error(`benchmarks target loopback only, not ${host}`);
}

async function once(spec: TtftSpec): Promise<Sample> {
  const signal = AbortSignal.timeout(spec.timeoutMs ?? 10_000);
  const body = {
    model: spec.model,
    messages: spec.messages,
    ...(spec.maxTokens ? { max_tokens: spec.maxTokens } : {}),
  };
  const t0 = performance.now();
  try {
    if (!spec.stream) {
      const out = await spec.client.chat.completions.create({ ...body, stream: false }, { signal });
      const last = performance.now() - t0;
      const ok = typeof out.choices[0]?.message.content === 'string';
      return { ok, last, chunks: 1, gaps: [], model: out.model, ...(ok ? {} : { error: 'no content in the answer' }) };
    }
    const stream = await spec.client.chat.completions.create({ ...body, stream: true }, { signal });
    const arrivals: number[] = [];
    let model: string | undefined;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta?.content) {
        arrivals.push(performance.now() - t0);
        model ??= chunk.model;
      }
    }
    const last = performance.now() - t0;
    const gaps = arrivals.slice(1).map((a, i) => a - arrivals[i]!);
    const ok = arrivals.length > 0;
    return {
      ok,
      first: arrivals[0],
      last,
      chunks: arrivals.length,
      gaps,
      model,
      ...(ok ? {} : { error: 'no content chunk' }),
    };
  } catch (err) {
    return { ok: false, last: performance.now() - t0, chunks: 0, gaps: [], error: (err as Error).message };
  }
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
/** Same rank rule as the load scenarios. With 30 samples, p99 is the slowest one. */
const at = (s: number[], p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
const round = (x: number) => Math.round(x * 10) / 10;

export function percentiles(xs: number[]): Percentiles {
  const s = sorted(xs);
  return { p50: round(at(s, 50)), p90: round(at(s, 90)), p99: round(at(s, 99)), max: round(s.at(-1) ?? 0) };
}

/** Runs one variant: warm-up, then up to `requests` sequential requests within `maxSeconds`. */
export async function measureTtft(spec: TtftSpec): Promise<TtftStats> {
  assertLoopback(spec.client.baseURL);
  for (let i = 0; i < spec.warmup; i++) await once(spec);
  const samples: Sample[] = [];
  const started = performance.now();
  while (samples.length < spec.requests && performance.now() - started < spec.maxSeconds * 1000)
    samples.push(await once(spec));
  const elapsed = (performance.now() - started) / 1000;
  const good = samples.filter((s) => s.ok);
  const last = percentiles(good.map((s) => s.last));
  const answeredBy: Record<string, number> = {};
  for (const s of good) if (s.model) answeredBy[s.model] = (answeredBy[s.model] ?? 0) + 1;
  const firstError = samples.find((s) => s.error)?.error;
  const gaps = sorted(good.flatMap((s) => s.gaps));
  return {
    requests: samples.length,
    rps: round(samples.length / elapsed),
    ...last,
    errors: samples.length - good.length,
    non2xx: 0,
    ...(spec.stream
      ? { ttft: percentiles(good.map((s) => s.first!)), gapP50: round(at(gaps, 50)), gapP10: round(at(gaps, 10)) }
      : {}),
    chunks: at(sorted(good.map((s) => s.chunks)), 50),
    answeredBy,
    ...(firstError ? { firstError } : {}),
  };
}
