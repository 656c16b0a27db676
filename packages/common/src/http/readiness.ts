/** Readiness (off once draining) and the public health routes. */
import type { RequestHandler } from 'express';
import { REQUEST_ID_HEADER } from '../contract';
import { httpError, problemFrom, PROBLEM_CONTENT_TYPE } from './problem';

/** Readiness flag flipped off at shutdown so load balancers stop sending before we drain. */
export class Readiness {
  private draining = false;
  constructor(private readonly checks: Record<string, () => Promise<boolean>>) {}

  drain(): void {
    this.draining = true;
  }

  async status(): Promise<{ ready: boolean; checks: Record<string, boolean> }> {
    if (this.draining) return { ready: false, checks: { draining: false } };
    const names = Object.keys(this.checks);
    const results = await Promise.all(names.map((n) => this.checks[n]!().catch(() => false)));
    const checks = Object.fromEntries(names.map((n, i) => [n, results[i]!]));
    return { ready: results.every(Boolean), checks };
  }
}

/** Which checks pass, for operators on the internal (metrics) port: names what is missing. */
export async function readinessDetail(readiness: Readiness) {
  const status = await readiness.status();
  return { status: status.ready ? 200 : 503, body: status };
}

/**
 * GET /healthz (the process is alive) and GET /readyz (it should get traffic).
 * The public port says ready or not only: which dependency is down (sidecar, key
 * list) is for operators, on the metrics port (readinessDetail).
 */
export function addHealthRoutes(
  routes: { add(method: 'get', path: string, ...h: RequestHandler[]): void },
  readiness: Readiness,
): void {
  routes.add('get', '/healthz', (_req, res) => void res.json({ status: 'ok' }));
  routes.add('get', '/readyz', async (_req, res) => {
    if ((await readiness.status()).ready) return void res.json({ status: 'ready' });
    // Written here, not thrown: the problem handler logs every 5xx at error, and a draining pod is no error.
    const problem = problemFrom(
      httpError(503, 'not ready to take traffic', { code: 'not_ready' }),
      res.getHeader(REQUEST_ID_HEADER) as string | undefined,
    );
    res.status(503).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
  });
}
