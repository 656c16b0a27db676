/** Per-key limits at the edge, with the limit records in memory (the shared store's behaviour is an integration test). */
import request from 'supertest';
import type { AskResponse, Spend } from '@context-qa/common/contract';
import { sha256Hex } from '@context-qa/common/crypto';
import { httpError, type Problem, Readiness } from '@context-qa/common/http';
import type { OpenAiError } from '@context-qa/common/openai';
import { createLogger } from '@context-qa/common/telemetry';
import type { AiCore, Forwarded } from '../src/domain/ports';
import { createApp } from '../src/app';
import type { KeyLimits } from '../src/domain/api-keys';
import { estimates } from '../src/domain/cost-estimate';
import { gatewayMetrics } from '../src/metrics';
import { askResponse, FlakyKv, limiterOver, limitDeps } from './fakes';

const ASK = 'cqa_limits_ask_key';
const ADMIN = 'cqa_limits_admin_key';

/** Both models answered, with usage to charge. */
const answer = (over: Partial<AskResponse> = {}): AskResponse =>
  askResponse({
    models: {
      gpt4: { status: 'ok', latencyMs: 1, usage: { inputTokens: 30, outputTokens: 20 } },
      llama4: { status: 'ok', latencyMs: 1, usage: { inputTokens: 30, outputTokens: 10 } },
    },
    ...over,
  });

/** What ai-core reports both models of answer() spent: 90 tokens. */
const SPEND: Spend = { gpt4: { input: 30, output: 20 }, llama4: { input: 30, output: 10 } };

const until = async (what: () => Promise<boolean>) => {
  while (!(await what())) await new Promise((r) => setTimeout(r, 5));
};

function setup(limits: KeyLimits, opts: { failClosed?: boolean; reply?: () => Promise<Forwarded> } = {}) {
  const kv = new FlakyKv();
  const { deps, store, decisions, tokens } = limitDeps(
    {},
    { kv, ...(opts.failClosed !== undefined ? { failClosed: opts.failClosed } : {}) },
  );
  let calls = 0;
  const reply = opts.reply ?? (async () => ({ status: 200, body: answer(), spend: SPEND }));
  const aiCore: AiCore = {
    send: async () => (calls++, reply()),
    open: async () => (calls++, reply()),
  };
  const app = createApp({
    logger: createLogger('test', 'silent'),
    aiCore,
    apiKeys: () => [
      { id: 'asker', scope: 'ask', sha256: sha256Hex(ASK), limits },
      { id: 'ops', scope: 'admin', sha256: sha256Hex(ADMIN) },
    ],
    readiness: new Readiness({}),
    bodyLimit: '8kb',
    requestTimeoutMs: 5000,
    limits: deps,
  });
  const ask = (body: object = { prompt: 'hi', maxTokens: 10 }) =>
    request(app).post('/v1/prompt').set('authorization', `Bearer ${ASK}`).send(body);
  const record = () => store.get('limits:asker');
  return { app, ask, kv, record, decisions, tokens, deps, calls: () => calls };
}

describe('per-key limits', () => {
  test('when a key passes its requests per minute, then 429 problem+json with Retry-After and RateLimit headers, and nothing is forwarded', async () => {
    const s = setup({ requestsPerMinute: 2 });
    const first = await s.ask();
    expect(first.status).toBe(200);
    expect(first.headers['ratelimit-policy']).toBe('"requests-per-minute";q=2;w=60');
    expect(first.headers['ratelimit']).toBe('"requests-per-minute";r=1;t=30');
    expect((await s.ask()).status).toBe(200);
    const refused = await s.ask();
    expect(refused.status).toBe(429);
    expect(refused.headers['content-type']).toMatch(/problem\+json/);
    expect(refused.body).toMatchObject({
      code: 'rate_limit_exceeded',
      limit: 'requests_per_minute',
      requestId: refused.headers['x-request-id'],
    });
    expect(refused.headers['retry-after']).toBe('30');
    expect(refused.headers['ratelimit']).toMatch(/r=0;/);
    expect(s.calls()).toBe(2);
    expect(s.decisions).toEqual(['admitted', 'admitted', 'refused:requests_per_minute']);
  });

  test('when a request could never fit the token limit, then 400 before any model is called (no Retry-After)', async () => {
    const s = setup({ tokensPerMinute: 50 });
    const res = await s.ask({ prompt: 'hi', maxTokens: 100 });
    expect(res.status).toBe(400);
    expect((res.body as Problem).code).toBe('exceeds_token_limit');
    expect(res.headers['retry-after']).toBeUndefined();
    expect(s.calls()).toBe(0);
  });

  test('when many requests race for a token budget, then their estimates are reserved and only what fits is admitted', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let admitted = 0;
    let refused = 0;
    const s = setup(
      { tokensPerMinute: 200 },
      { reply: async () => (admitted++, await held, { status: 200, body: answer(), spend: SPEND }) },
    );
    // Each costs (1 prompt token + 10 output) × 2 models = 22 by its estimate: 9 fit in 200.
    const racing = Array.from({ length: 20 }, () => s.ask().then((r) => (r.status !== 200 && refused++, r)));
    // Every request decided (held at ai-core, or refused) before any answer settles and frees budget.
    await until(async () => admitted + refused === 20);
    release();
    const statuses = (await Promise.all(racing)).map((r) => r.status);
    expect(statuses.filter((x) => x === 200)).toHaveLength(9);
    expect(statuses.filter((x) => x === 429)).toHaveLength(11);
  });

  test("when an answer comes back, then the models' reported usage is charged and counted per key and model; a cache hit costs nothing", async () => {
    const s = setup({ tokensPerDay: 1000 });
    expect((await s.ask()).status).toBe(200);
    await until(async () => (await s.record())?.dayTokens === 90); // settled when the response ends
    expect(s.tokens).toEqual([
      ['asker', 'gpt4', 'input', 30],
      ['asker', 'gpt4', 'output', 20],
      ['asker', 'llama4', 'input', 30],
      ['asker', 'llama4', 'output', 10],
    ]);
    const hit = setup(
      { tokensPerDay: 1000 },
      { reply: async () => ({ status: 200, body: answer({ cache: 'hit' }), spend: {} }) },
    );
    expect((await hit.ask()).status).toBe(200);
    await until(async () => (await hit.record())?.dayTokens === 0); // the reservation was given back
  });

  test.each([
    [
      'ai-core answered without its spend report',
      'stands',
      async (): Promise<Forwarded> => ({ status: 200, body: answer() }),
    ],
    [
      'ai-core refused the request (4xx, no model ran)',
      'is given back',
      async (): Promise<Forwarded> => ({ status: 404, body: { code: 'not_found' } }),
    ],
    [
      'our sidecar did not answer (ai_core_unreachable)',
      'is given back',
      () => Promise.reject(httpError(503, 'unreachable', { code: 'ai_core_unreachable' })),
    ],
    [
      "ai-core's sidecar answered 5xx for it (ai_core_unavailable: it may have run models)",
      'stands',
      () => Promise.reject(httpError(503, 'unavailable', { code: 'ai_core_unavailable' })),
    ],
    ['ai-core was too slow (504)', 'stands', () => Promise.reject(httpError(504, 'slow', { code: 'ai_core_timeout' }))],
  ] as const)('when %s, then the reservation %s', async (_case, expected, reply) => {
    const s = setup({ tokensPerDay: 100_000 }, { reply });
    await s.ask();
    const reserved = estimates.prompt({ prompt: 'hi', maxTokens: 10, strategy: 'both' }, s.deps);
    await until(async () => Object.keys((await s.record())?.leases ?? {}).length === 0); // settled with the lease's release
    expect((await s.record())?.dayTokens).toBe(expected === 'stands' ? reserved : 0);
  });

  test('when a key has its maximum in flight, then the next one is refused until one ends', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let first = true;
    const s = setup(
      { maxInFlight: 1 },
      {
        reply: async () => (
          first ? ((first = false), await held) : undefined,
          { status: 200, body: answer(), spend: SPEND }
        ),
      },
    );
    const slow = s.ask().then((r) => r); // supertest sends on then()
    await new Promise((r) => setTimeout(r, 50));
    const refused = await s.ask();
    expect(refused.status).toBe(429);
    expect((refused.body as Problem).limit).toBe('in_flight');
    release();
    expect((await slow).status).toBe(200);
    await until(async () => Object.keys((await s.record())?.leases ?? {}).length === 0); // released when the response closes
    expect((await s.ask()).status).toBe(200);
  });

  test('when the limit store is down, then a per-replica limiter decides (its share of each limit, counted) or 503 (fail closed)', async () => {
    const open = setup({ requestsPerMinute: 4 });
    open.kv.failing = true;
    // Two replicas assumed (limitDeps): this one allows 2 of the 4 a minute.
    expect((await open.ask()).status).toBe(200);
    expect((await open.ask()).status).toBe(200);
    const refused = await open.ask();
    expect(refused.status).toBe(429);
    expect((refused.body as Problem).limit).toBe('requests_per_minute');
    expect(open.decisions).toEqual([
      'store_error',
      'admitted',
      'store_error',
      'admitted',
      'store_error',
      'refused:requests_per_minute',
    ]);
    const closed = setup({ requestsPerMinute: 1 }, { failClosed: true });
    closed.kv.failing = true;
    const res = await closed.ask();
    expect(res.status).toBe(503);
    expect((res.body as Problem).code).toBe('limits_unavailable');
    expect(res.headers['retry-after']).toBe('1');
    expect(closed.calls()).toBe(0);
  });

  test("when the OpenAI-compatible route is refused, then 429 in OpenAI's shape (the SDK's RateLimitError) with Retry-After", async () => {
    const s = setup({ requestsPerMinute: 1 });
    const chat = () =>
      request(s.app)
        .post('/v1/chat/completions')
        .set('authorization', `Bearer ${ASK}`)
        .send({ model: 'auto', messages: [{ role: 'user', content: 'hi' }] });
    expect((await chat()).status).toBe(200);
    const res = await chat();
    expect(res.status).toBe(429);
    expect((res.body as OpenAiError).error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
    expect(res.headers['retry-after']).toBeTruthy();
  });

  test("when an admin asks for a key's usage, then this minute's requests and tokens and today's tokens", async () => {
    const s = setup({ requestsPerMinute: 10, tokensPerDay: 1000 });
    await s.ask();
    const res = await request(s.app).get('/v1/usage/asker').set('authorization', `Bearer ${ADMIN}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ keyId: 'asker', minute: { requests: 1 }, day: { tokens: 90 } });
    expect((await request(s.app).get('/v1/usage/asker').set('authorization', `Bearer ${ASK}`)).status).toBe(403);
  });

  test('when the limit store is down, then usage is 503 limits_unavailable with Retry-After, like admission', async () => {
    const s = setup({ requestsPerMinute: 10 });
    s.kv.failing = true;
    const res = await request(s.app).get('/v1/usage/asker').set('authorization', `Bearer ${ADMIN}`);
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
    expect(res.body).toMatchObject({ code: 'limits_unavailable', requestId: res.headers['x-request-id'] });
    expect(res.headers['retry-after']).toBe('1');
  });
});

describe('rate-limit metrics', () => {
  test('when the store fails, then admissions made without it count as store_error decisions (fallback, fail_closed) and lost updates apart', async () => {
    const metrics = gatewayMetrics();
    for (const failure of ['fallback', 'fail_closed', 'release', 'renew', 'charge', 'release'] as const)
      metrics.rateLimitStoreError(failure);
    const values = async (name: string) =>
      (await metrics.registry.getSingleMetric(name)!.get()).values.map((v) => [v.labels, v.value]);
    expect(await values('gateway_rate_limit_decisions_total')).toEqual([
      [{ decision: 'store_error', reason: 'fallback' }, 1],
      [{ decision: 'store_error', reason: 'fail_closed' }, 1],
    ]);
    expect(await values('gateway_rate_limit_lost_updates_total')).toEqual([
      [{ operation: 'release' }, 2],
      [{ operation: 'renew' }, 1],
      [{ operation: 'charge' }, 1],
    ]);
  });
});

describe('RateLimiter windows', () => {
  const limits = { requestsPerMinute: 1, tokensPerMinute: 0, tokensPerDay: 100, maxInFlight: 0 };
  const t0 = Date.UTC(2026, 10, 26, 12, 0, 10);

  test('when the minute turns, then the request count starts again; when the day turns, then the token budget does', async () => {
    const { limiter: l, store } = limiterOver(new FlakyKv());
    expect((await l.admit('k', limits, 10, t0)).ok).toBe(true);
    expect(await l.admit('k', limits, 10, t0 + 1000)).toMatchObject({
      ok: false,
      reason: 'requests_per_minute',
      retryAfterS: 49,
    });
    const next = await l.admit('k', limits, 10, t0 + 60_000);
    expect(next.ok).toBe(true);
    if (next.ok) next.charge(95);
    await until(async () => (await store.get('limits:k'))?.dayTokens === 105);
    expect(await l.admit('k', limits, 10, t0 + 120_000)).toMatchObject({ ok: false, reason: 'tokens_per_day' });
    expect((await l.admit('k', limits, 10, t0 + 86_400_000)).ok).toBe(true); // a new UTC day
  });
});
