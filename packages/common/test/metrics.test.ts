import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { baseApp, httpError, routeTable } from '@context-qa/common/http';
import { createLogger, createMetrics } from '@context-qa/common/telemetry';

/** The HTTP middleware: the route label is the matched pattern, the in-flight gauge never leaks. */
describe('HTTP metrics', () => {
  const logger = createLogger('test', 'silent');
  const { registry, httpMiddleware } = createMetrics('test');
  const app = baseApp(logger, httpMiddleware);
  const routes = routeTable(app);
  let release = () => {};
  routes.add('get', '/items/:id', (_req, res) => void res.json({}));
  routes.add('get', '/boom', () => {
    throw new Error('boom');
  });
  routes.add('post', '/bad', (_req, _res, next) => next(httpError(400, 'bad')));
  routes.add('get', '/slow', (_req, res) => {
    release = () => void res.json({});
  });
  routes.finish(logger);
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  const counts = async () =>
    Object.fromEntries(
      (await registry.getSingleMetricAsString('http_request_duration_seconds'))
        .split('\n')
        .filter((l) => l.startsWith('http_request_duration_seconds_count'))
        .map((l) => /method="(\w+)",route="([^"]+)",status="(\d+)"\} (\d+)/.exec(l)!.slice(1))
        .map(([m, r, s, n]) => [`${m} ${r} ${s}`, Number(n)]),
    );
  const inFlight = async () => (await registry.getSingleMetric('http_requests_in_flight')!.get()).values[0]?.value;
  const settled = async (want: number) => {
    for (let i = 0; i < 100 && (await inFlight()) !== want; i++) await new Promise((r) => setTimeout(r, 10));
    return inFlight();
  };

  test('when requests end in success, a thrown error, a 4xx, a wrong method or no route, then each is counted by pattern and status', async () => {
    for (const [method, p] of [
      ['GET', '/items/1'],
      ['GET', '/items/2'],
      ['GET', '/boom'],
      ['POST', '/bad'],
      ['DELETE', '/items/3'],
      ['GET', '/nowhere/4'],
    ]) {
      await (await fetch(base + p, { method })).arrayBuffer();
    }
    expect(await settled(0)).toBe(0);
    expect(await counts()).toEqual({
      'GET /items/:id 200': 2,
      'GET /boom 500': 1,
      'POST /bad 400': 1,
      'DELETE /items/:id 405': 1,
      'GET unmatched 404': 1,
    });
  });

  test('when a request is in flight, then the gauge counts it; when the caller leaves, then it is released and counted as 499', async () => {
    const aborted = new AbortController();
    const pending = fetch(`${base}/slow`, { signal: aborted.signal }).catch(() => undefined);
    expect(await settled(1)).toBe(1);
    aborted.abort();
    await pending;
    expect(await settled(0)).toBe(0);
    release();
    expect((await counts())['GET /slow 499']).toBe(1);
  });
});
