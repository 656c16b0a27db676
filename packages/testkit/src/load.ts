/**
 * Steady open-model load for fault drills: one request every 1000/rps ms,
 * regardless of answers, bounded by count and time; loopback targets only.
 */
export interface Sample {
  /** HTTP status, or 0 when the request failed or timed out on our side. */
  status: number;
  ms: number;
  /** Start time relative to the load's start. */
  at: number;
  body?: unknown;
  /** The Retry-After header, when the answer had one. */
  retryAfter?: string;
}

export interface LoadOptions {
  rps: number;
  durationMs: number;
  /** Hard cap on requests. */
  maxRequests?: number;
  /** Per-request timeout: nothing waits forever. */
  timeoutMs?: number;
  request: (i: number, signal: AbortSignal) => Promise<Response>;
  /** Called at these offsets (ms) while the load runs, e.g. to stop a process. */
  events?: { atMs: number; run: () => Promise<unknown> }[];
}

function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (!(host === 'localhost' || host.startsWith('127.') || host === '[::1]'))
    throw new Error(`load targets loopback only, not ${host}`);
}

export async function steadyLoad(opts: LoadOptions): Promise<Sample[]> {
  const max = Math.min(opts.maxRequests ?? 10_000, Math.ceil((opts.rps * opts.durationMs) / 1000));
  const t0 = performance.now();
  const inflight: Promise<Sample>[] = [];
  const events = (opts.events ?? []).map(
    (e) =>
      new Promise<void>((resolve, reject) => {
        setTimeout(() => e.run().then(() => resolve(), reject), e.atMs);
      }),
  );
  for (let i = 0; i < max; i++) {
    const due = t0 + (i * 1000) / opts.rps;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const started = performance.now();
    inflight.push(
      opts
        .request(i, AbortSignal.timeout(opts.timeoutMs ?? 15_000))
        .then(async (res) => {
          assertLoopback(res.url);
          const text = await res.text();
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          const retryAfter = res.headers.get('retry-after');
          return {
            status: res.status,
            ms: performance.now() - started,
            at: started - t0,
            body,
            ...(retryAfter ? { retryAfter } : {}),
          };
        })
        .catch(() => ({ status: 0, ms: performance.now() - started, at: started - t0 })),
    );
  }
  const [samples] = await Promise.all([Promise.all(inflight), Promise.all(events)]);
  return samples;
}

/** Count of samples per status, e.g. {200: 95, 503: 5}. */
export const byStatus = (samples: Sample[]): Record<number, number> =>
  samples.reduce<Record<number, number>>((acc, s) => ((acc[s.status] = (acc[s.status] ?? 0) + 1), acc), {});
