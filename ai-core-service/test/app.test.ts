/** ai-core-service's HTTP surface with fakes at its ports. */
import request from 'supertest';
import { TENANT_HEADER } from '@context-qa/common/contract';
import type { Problem } from '@context-qa/common/http';
import { refused } from '../src/adapters/models/guarded';
import { NoModelAnswered } from '../src/domain/outcomes';
import { contextAdmin, type CacheSync } from '../src/domain/context-admin';
import { contextDeps, inTenant, TENANT, testApp } from './fakes';

/** A 400 problem for bad fields: each field's path and what is wrong with it. */
type BadFields = Problem & { errors: { path: string; message: string }[] };

function setup(opts: { appToken?: string; fail?: boolean } = {}) {
  const deps = contextDeps();
  const { cache, store } = deps;
  const app = testApp({
    appToken: opts.appToken,
    contexts: contextAdmin(deps),
    pipeline: {
      answer: async (q) => {
        if (opts.fail) throw new NoModelAnswered({ gpt4: refused('timeout', 5), llama4: refused('circuit_open') });
        return {
          answeredBy: 'gpt4',
          outcome: { status: 'ok', text: q.question, latencyMs: 1 },
          degraded: false,
          context: { source: 'none', key: 'k' },
          cache: 'miss',
          models: { gpt4: { status: 'ok', latencyMs: 1 }, llama4: { status: 'ok', latencyMs: 1 } },
        };
      },
    },
  });
  return { app, cache, store };
}

describe('ai-core HTTP', () => {
  test('when APP_API_TOKEN is set, then requests without it get 401 but health checks pass', async () => {
    const { app } = setup({ appToken: 'tok' });
    expect((await request(app).post('/process').send({ prompt: 'hi' })).status).toBe(401);
    expect((await request(app).post('/process').set('dapr-api-token', 'bad').send({ prompt: 'hi' })).status).toBe(401);
    expect(
      (
        await request(app)
          .post('/process')
          .set('dapr-api-token', 'tok')
          .set(TENANT_HEADER, TENANT)
          .send({ prompt: 'hi' })
      ).status,
    ).toBe(200);
    expect((await request(app).get('/healthz')).status).toBe(200);
  });

  test('when no model answers, then 503 problem+json listing each model status', async () => {
    const res = await request(setup({ fail: true }).app)
      .post('/process')
      .set(TENANT_HEADER, TENANT)
      .send({ prompt: 'hi' });
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
    expect(res.body).toMatchObject({
      code: 'no_model_answered',
      models: {
        gpt4: { status: 'timeout', code: 'timeout', latencyMs: 5 },
        llama4: { status: 'circuit_open', code: 'circuit_open' },
      },
    });
    expect(res.headers['retry-after']).toBe('5');
  });

  test('when context is put, then the store holds it and the cache copy is refreshed; delete invalidates both', async () => {
    const { app, cache, store } = setup();
    const put = await request(app)
      .put('/v1/context?key=k1')
      .set(TENANT_HEADER, TENANT)
      .send({ text: 'T', ttlSeconds: 30 });
    expect(put.body).toEqual({ key: 'k1', stored: true, cache: 'refreshed' });
    expect(store.data.get(inTenant('k1'))).toBe('T');
    expect(cache.data.get(inTenant('k1'))).toBe('T');
    expect(cache.ttls.get(inTenant('k1'))).toBeGreaterThan(0); // never outlives the stored item
    expect(cache.ttls.get(inTenant('k1'))).toBeLessThanOrEqual(30);
    expect((await request(app).get('/v1/context?key=k1').set(TENANT_HEADER, TENANT)).body).toEqual({
      key: 'k1',
      text: 'T',
    });
    expect((await request(app).delete('/v1/context?key=k1').set(TENANT_HEADER, TENANT)).body).toEqual({
      key: 'k1',
      deleted: true,
      cache: 'invalidated',
    });
    expect(cache.data.has(inTenant('k1')) || store.data.has(inTenant('k1'))).toBe(false);
    expect(cache.tombstones.has(inTenant('k1'))).toBe(true);
    expect((await request(app).get('/v1/context?key=k1').set(TENANT_HEADER, TENANT)).status).toBe(404);
  });

  test('when the cache cannot be refreshed, then the write still lands and the answer says so', async () => {
    const { app, cache, store } = setup();
    cache.failing = true;
    expect(
      (
        (await request(app).put('/v1/context?key=k').set(TENANT_HEADER, TENANT).send({ text: 'T' })).body as {
          cache: CacheSync;
        }
      ).cache,
    ).toBe('failed');
    expect(store.data.get(inTenant('k'))).toBe('T');
  });

  test('when the body has bad fields, then 400 names each path', async () => {
    const res = await request(setup().app)
      .post('/process')
      .set(TENANT_HEADER, TENANT)
      .send({ prompt: 1, maxTokens: 0 });
    expect(res.status).toBe(400);
    expect((res.body as BadFields).errors.map((e) => e.path).sort()).toEqual(['maxTokens', 'prompt']);
  });
});
