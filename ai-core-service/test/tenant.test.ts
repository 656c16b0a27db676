/** ai-core takes the tenant from the gateway's header only, and refuses a request without one rather than defaulting. */
import request from 'supertest';
import { TENANT_HEADER } from '@context-qa/common/contract';
import type { Question } from '../src/domain/answer/question';
import { contextAdmin } from '../src/domain/context-admin';
import { contextDeps, testApp } from './fakes';

function setup() {
  const deps = contextDeps();
  /** The tenants the pipeline was asked for, by route. */
  const asked: { tenant: string; q: Question }[] = [];
  const prepared: string[] = [];
  const app = testApp({
    contexts: contextAdmin(deps),
    pipeline: {
      answer: async (q, _budget, opts) => {
        if (q.via === 'chat') {
          prepared.push(opts.tenant);
          throw new Error('stop here: the tenant is what this test reads');
        }
        asked.push({ tenant: opts.tenant, q });
        return {
          answeredBy: 'gpt4',
          outcome: { status: 'ok', text: 'a', latencyMs: 1 },
          degraded: false,
          context: { source: 'none', key: 'k' },
          cache: 'miss',
          models: {},
        };
      },
    },
  });
  return { app, asked, prepared, store: deps.store };
}

describe('the tenant header', () => {
  test.each([
    ['POST /process', (app: ReturnType<typeof setup>['app']) => request(app).post('/process').send({ prompt: 'hi' })],
    ['GET /v1/context', (app: ReturnType<typeof setup>['app']) => request(app).get('/v1/context?key=k')],
    [
      'PUT /v1/context',
      (app: ReturnType<typeof setup>['app']) => request(app).put('/v1/context?key=k').send({ text: 'T' }),
    ],
    ['DELETE /v1/context', (app: ReturnType<typeof setup>['app']) => request(app).delete('/v1/context?key=k')],
  ])(
    'when %s arrives without it, then 400 problem+json tenant_required and nothing is read or written',
    async (_route, send) => {
      const s = setup();
      const res = await send(s.app);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      expect(res.body).toMatchObject({ code: 'tenant_required' });
      expect(s.asked).toEqual([]);
      expect(s.store.data.size).toBe(0);
    },
  );

  test('when chat completions arrive without it, then 400 in OpenAI shape and nothing is prepared', async () => {
    const s = setup();
    const res = await request(s.app)
      .post('/v1/chat/completions')
      .send({ model: 'auto', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'tenant_required' } });
    expect(s.prepared).toEqual([]);
  });

  test('when it is malformed (a ":" could forge a store key), then 400', async () => {
    const s = setup();
    const res = await request(s.app).get('/v1/context?key=k').set(TENANT_HEADER, 'a::b');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'tenant_required' });
  });

  test('when it is present, then the use cases get exactly that tenant', async () => {
    const s = setup();
    expect((await request(s.app).post('/process').set(TENANT_HEADER, 'team-a').send({ prompt: 'hi' })).status).toBe(
      200,
    );
    expect(s.asked.map((a) => a.tenant)).toEqual(['team-a']);
    await request(s.app)
      .post('/v1/chat/completions')
      .set(TENANT_HEADER, 'team-b')
      .send({ model: 'auto', messages: [{ role: 'user', content: 'hi' }] });
    expect(s.prepared).toEqual(['team-b']);
    await request(s.app).put('/v1/context?key=k').set(TENANT_HEADER, 'team-c').send({ text: 'T' });
    expect([...s.store.data.keys()]).toEqual(['team-c::k']);
  });
});
