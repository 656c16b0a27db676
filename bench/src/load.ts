import autocannon from 'autocannon';

export interface LoadSpec {
  url: string;
  body: unknown | (() => unknown);
  headers: Record<string, string>;
  durationSec: number;
  /** Fixed arrival rate (req/s over all connections); unset = as fast as `connections` allow. */
  rate?: number;
  connections?: number;
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
}

/** One autocannon run (in this process, separate from every server it loads). */
export async function load(spec: LoadSpec): Promise<LoadStats> {
  const dynamic = typeof spec.body === 'function';
  const result = await autocannon({
    url: spec.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...spec.headers },
    ...(dynamic ? {} : { body: JSON.stringify(spec.body) }),
    ...(dynamic
      ? { requests: [{ method: 'POST', setupRequest: (req: any) => ({ ...req, body: JSON.stringify((spec.body as () => unknown)()) }) }] }
      : {}),
    duration: spec.durationSec,
    connections: spec.connections ?? (spec.rate ? Math.max(4, Math.ceil(spec.rate / 25)) : 16),
    ...(spec.rate ? { overallRate: spec.rate } : {}),
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
  };
}
