/** What every service's HTTP surface shows the world: security headers on every response, readiness without its checks. */
import request from 'supertest';
import { z } from 'zod';
import { baseConfig, loadConfig } from '@context-qa/common/config';
import { addHealthRoutes, baseApp, httpError, Readiness, routeTable, serveApp } from '@context-qa/common/http';
import { createLogger, createMetrics } from '@context-qa/common/telemetry';

const logger = createLogger('test', 'silent');

function appWith(readiness: Readiness) {
  const app = baseApp(logger);
  const routes = routeTable(app);
  routes.add('get', '/ok', (_req, res) => void res.json({ ok: true }));
  routes.add('get', '/bad', (_req, _res, next) => next(httpError(400, 'bad')));
  routes.add('get', '/boom', () => {
    throw new Error('boom');
  });
  addHealthRoutes(routes, readiness);
  routes.finish(logger);
  return app;
}

describe('security headers', () => {
  const app = appWith(new Readiness({}));

  test.each([
    ['a success', 'get', '/ok', 200],
    ['a problem', 'get', '/bad', 400],
    ['an unexpected error', 'get', '/boom', 500],
    ['an unknown route', 'get', '/nowhere', 404],
    ['a wrong method', 'post', '/ok', 405],
    ['a probe', 'get', '/healthz', 200],
  ] as const)(
    'when the response is %s, then it carries HSTS, X-Frame-Options DENY, COOP and nosniff',
    async (_what, method, path, status) => {
      const res = await request(app)[method](path);
      expect(res.status).toBe(status);
      expect(res.headers).toMatchObject({
        'strict-transport-security': expect.stringMatching(/^max-age=\d{7,}/) as unknown,
        'x-frame-options': 'DENY',
        'cross-origin-opener-policy': 'same-origin',
        'x-content-type-options': 'nosniff',
      });
    },
  );
});

describe('readiness', () => {
  test('when ready, then the public /readyz says so and nothing more', async () => {
    const res = await request(appWith(new Readiness({ sidecar: async () => true, apiKeys: async () => true }))).get(
      '/readyz',
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready' });
  });

  test('when a check fails, then the public /readyz is a 503 problem without the names of the checks', async () => {
    const res = await request(appWith(new Readiness({ sidecar: async () => false, apiKeys: async () => true }))).get(
      '/readyz',
    );
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 503, code: 'not_ready', requestId: res.headers['x-request-id'] });
    expect(res.text).not.toMatch(/sidecar|apiKeys|checks/);
  });

  test('when a check fails, then the metrics port names it', async () => {
    const config = loadConfig(z.object(baseConfig({ port: 0, metricsPort: 0 })), { HOST: '127.0.0.1' });
    const readiness = new Readiness({ sidecar: async () => false, apiKeys: async () => true });
    const server = await serveApp(appWith(readiness), {
      config,
      registry: createMetrics('test').registry,
      readiness,
      cleanup: async () => {},
    });
    try {
      const res = await fetch(`http://127.0.0.1:${server.metricsPort}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ ready: false, checks: { sidecar: false, apiKeys: true } });
    } finally {
      await server.stop();
    }
  });
});
