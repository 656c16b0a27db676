/** gateway-service's HTTP surface with fakes at its ports (ai-core invoker, key list). */
import request from 'supertest';
import type { ModelStatus } from '@context-qa/common/contract';
import { sha256Hex } from '@context-qa/common/crypto';
import { AppError, type Problem, Readiness } from '@context-qa/common/http';
import { createLogger } from '@context-qa/common/telemetry';
import type { AiCore } from '../src/domain/ports';
import { createApp } from '../src/app';
import { askResponse, limitDeps } from './fakes';

const ASK_KEY = 'cqa_test_ask_key_1';
const ADMIN_KEY = 'cqa_test_admin_key_1';
const keys = [
  { id: 'a', scope: 'ask' as const, sha256: sha256Hex(ASK_KEY) },
  { id: 'b', scope: 'admin' as const, sha256: sha256Hex(ADMIN_KEY) },
];

const answer = askResponse;

function setup(
  reply: Awaited<ReturnType<AiCore['send']>> | Error = { status: 200, body: answer() },
  surface?: 'all' | 'public' | 'admin',
) {
  const calls: { method: string; path: string; body: unknown; requestId: string }[] = [];
  const aiCore: AiCore = {
    async send(method, path, body, ctx) {
      calls.push({ method, path, body, requestId: ctx.requestId });
      if (reply instanceof Error) throw reply;
      return reply;
    },
    open(method, path, body, ctx, deadline) {
      return this.send(method, path, body, ctx, deadline);
    },
  };
  const app = createApp({
    logger: createLogger('test', 'silent'),
    aiCore,
    apiKeys: () => keys,
    readiness: new Readiness({}),
    bodyLimit: '1kb',
    requestTimeoutMs: 5000,
    limits: limitDeps().deps,
    ...(surface ? { surface } : {}),
  });
  return { app, calls };
}

const auth = { authorization: `Bearer ${ASK_KEY}` };

describe('gateway authentication', () => {
  test('when no key is sent, then 401 problem+json with a request id and WWW-Authenticate', async () => {
    const res = await request(setup().app).post('/v1/prompt').send({ prompt: 'hi' });
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.body).toMatchObject({ status: 401, requestId: res.headers['x-request-id'] });
  });
  test('when the key is wrong, then 401; when it is sent as x-api-key, then it works', async () => {
    const { app } = setup();
    expect((await request(app).post('/v1/prompt').set('x-api-key', 'nope').send({ prompt: 'hi' })).status).toBe(401);
    expect((await request(app).post('/v1/prompt').set('x-api-key', ASK_KEY).send({ prompt: 'hi' })).status).toBe(200);
  });
  test('when an ask key calls context admin, then 403; an admin key passes', async () => {
    const { app, calls } = setup({ status: 200, body: { key: 'k', text: 't' } });
    expect((await request(app).get('/v1/context/k').set(auth)).status).toBe(403);
    const ok = await request(app).get('/v1/context/a%2Fb c').set('authorization', `Bearer ${ADMIN_KEY}`);
    expect(ok.status).toBe(200);
    expect(calls.at(-1)).toMatchObject({ method: 'GET', path: '/v1/context?key=a%2Fb%20c' });
  });
});

describe('gateway /v1/prompt and the sketch route /prompt', () => {
  test('when the request is valid, then it is forwarded with defaults and the same request id', async () => {
    const { app, calls } = setup();
    const res = await request(app)
      .post('/v1/prompt')
      .set(auth)
      .set('x-request-id', 'req-123')
      .send({ prompt: '  hi  ' });
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toBe('req-123');
    expect(calls).toEqual([
      { method: 'POST', path: '/process', body: { prompt: 'hi', strategy: 'both' }, requestId: 'req-123' },
    ]);
  });
  test('when /prompt gets ?prompt=, then it answers with the sketch keys llama and gpt4 too', async () => {
    const { app, calls } = setup();
    const res = await request(app).post('/prompt?prompt=hello').set(auth);
    expect(res.status).toBe(200);
    expect(calls[0]?.body).toEqual({ prompt: 'hello', strategy: 'both' });
    expect(res.body).toMatchObject({ answer: 'A', gpt4: 'G', llama: '' });
  });
  test('when ai-core answers a problem, then status and problem pass through', async () => {
    const { app } = setup({
      status: 503,
      body: { title: 'Service Unavailable', status: 503, models: { gpt4: { status: 'timeout' } } },
    });
    const res = await request(app).post('/v1/prompt').set(auth).send({ prompt: 'hi' });
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
    expect((res.body as { models: { gpt4: { status: ModelStatus } } }).models.gpt4.status).toBe('timeout');
  });
  test('when ai-core is unreachable, then the invoker error becomes its problem status', async () => {
    const { app } = setup(new AppError(503, 'Service Unavailable', 'ai-core is unavailable'));
    const res = await request(app).post('/v1/prompt').set(auth).send({ prompt: 'hi' });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject<Record<string, unknown>>({
      detail: 'ai-core is unavailable',
      requestId: expect.any(String),
    });
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.js/); // no stack trace
  });
});

describe('gateway bad input: a clear problem, never a forward', () => {
  test.each([
    [
      'malformed JSON',
      (r: request.Test) => r.set('content-type', 'application/json').send('{"prompt":'),
      400,
      /not valid JSON/,
    ],
    [
      'wrong content type',
      (r: request.Test) => r.set('content-type', 'text/plain').send('prompt=hi'),
      415,
      /application\/json/,
    ],
    ['body over the limit', (r: request.Test) => r.send({ prompt: 'x'.repeat(2000) }), 413, /too large/],
    ['missing prompt', (r: request.Test) => r.send({}), 400, /prompt/],
    ['blank prompt', (r: request.Test) => r.send({ prompt: '   ' }), 400, /prompt/],
    ['wrongly typed maxTokens', (r: request.Test) => r.send({ prompt: 'hi', maxTokens: 'ten' }), 400, /maxTokens/],
    ['maxTokens out of range', (r: request.Test) => r.send({ prompt: 'hi', maxTokens: 5000 }), 400, /maxTokens/],
    ['unknown strategy', (r: request.Test) => r.send({ prompt: 'hi', strategy: 'all' }), 400, /strategy/],
    ['contextKey with ||', (r: request.Test) => r.send({ prompt: 'hi', contextKey: 'a||b' }), 400, /contextKey/],
    ['unknown field', (r: request.Test) => r.send({ prompt: 'hi', temperature: 1 }), 400, /temperature/],
  ])('when %s, then %d', async (_name, build, status, detail) => {
    const { app, calls } = setup();
    const res = await build(request(app).post('/v1/prompt').set(auth));
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    const problem = res.body as Problem;
    expect(problem.detail).toMatch(detail);
    expect(problem.requestId).toBe(res.headers['x-request-id']);
    expect(calls).toHaveLength(0);
  });

  test('when the route is unknown, then 404; when the method is wrong, then 405 with Allow', async () => {
    const { app } = setup();
    const notFound = await request(app).get('/v1/<img src=x>');
    expect(notFound.status).toBe(404);
    expect(notFound.headers['x-content-type-options']).toBe('nosniff'); // the detail echoes the path: never sniffed as HTML
    const res = await request(app).get('/v1/prompt').set(auth);
    expect(res.status).toBe(405);
    expect(res.headers['allow']).toBe('POST');
  });

  test('when a prompt is over 16,000 characters, then 400 naming prompt (with a large enough body limit)', async () => {
    const { app } = setup();
    // the 1 kB test limit would answer 413 first; this checks the schema bound itself
    const res = await request(app)
      .post('/prompt')
      .set(auth)
      .query({ prompt: 'x'.repeat(16_001) });
    expect(res.status).toBe(400);
    expect((res.body as Problem).detail).toMatch(/prompt/);
  });
});

describe('gateway listeners (ADMIN_PORT)', () => {
  const admin = { authorization: `Bearer ${ADMIN_KEY}` };

  test('when admin routes have their own listener, then the public one does not serve them', async () => {
    const { app, calls } = setup(undefined, 'public');
    expect((await request(app).put('/v1/context/k').set(admin).send({ text: 't' })).status).toBe(404);
    expect((await request(app).get('/v1/context/k').set(admin)).status).toBe(404);
    expect((await request(app).post('/v1/prompt').set(admin).send({ prompt: 'hi' })).status).toBe(200);
    expect(calls.map((c) => c.path)).toEqual(['/process']);
  });

  test('when serving the admin listener, then it has the context routes and health, but no ask routes', async () => {
    const { app, calls } = setup({ status: 200, body: { key: 'k', stored: true } }, 'admin');
    expect((await request(app).put('/v1/context/k').set(admin).send({ text: 't' })).status).toBe(200);
    expect((await request(app).post('/v1/prompt').set(admin).send({ prompt: 'hi' })).status).toBe(404);
    expect((await request(app).get('/readyz')).status).toBe(200);
    expect(calls.map((c) => c.method)).toEqual(['PUT']);
  });
});

describe('gateway passes on what a caller needs from ai-core', () => {
  test('when ai-core answers 503 with Retry-After, then the caller gets the header too', async () => {
    const { app } = setup({ status: 503, body: { code: 'no_model_answered' }, retryAfter: '5' });
    const res = await request(app).post('/v1/prompt').set(auth).send({ prompt: 'hi' });
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.body).toMatchObject({ code: 'no_model_answered', requestId: res.headers['x-request-id'] });
  });
});
