/**
 * The exact-match answer cache through the real stack: gateway → daprd →
 * ai-core → `answer-cache` state store (Redis on components/local, in-memory on
 * components/memory) and the model simulator, whose request counters prove
 * that a hit calls no model.
 */
import type { AskResponse } from '@context-qa/common/contract';
import type { ChatCompletion } from '@context-qa/common/openai';
import type { SimulatorAdmin } from '@context-qa/model-sim';
import { DEV_KEYS, freePort, serviceApps, useStack, type ComponentSet } from '@context-qa/testkit';

const GPT = 'gpt-4';
const LLAMA = 'us.meta.llama4-maverick-17b-instruct-v1:0';

describe.each<ComponentSet>(['local', 'memory'])('the answer cache on components/%s', (components) => {
  let sim: SimulatorAdmin;
  let gateway: string;
  let metricsPort = 0;
  let n = 0;
  const lookups = async (outcome: string) => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    return Number(
      new RegExp(`^answer_cache_lookups_total\\{[^}]*outcome="${outcome}"[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0,
    );
  };
  /** A question no earlier test asked. */
  const fresh = (what: string) => `${what} #${++n} ${Date.now()}`;

  const call = (
    path: string,
    init: { method?: string; body?: unknown; key?: string; headers?: Record<string, string> } = {},
  ) =>
    fetch(`${gateway}${path}`, {
      method: init.method ?? 'POST',
      headers: {
        authorization: `Bearer ${init.key ?? DEV_KEYS.ask}`,
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...init.headers,
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
  const ask = async (body: Record<string, unknown>, headers?: Record<string, string>) => {
    const res = await call('/v1/prompt', { body, ...(headers ? { headers } : {}) });
    return {
      status: res.status,
      body: (await res.json()) as AskResponse,
      header: res.headers.get('x-context-qa-cache'),
    };
  };
  const modelCalls = async () => (await sim.requests('chat', GPT)) + (await sim.requests('converse', LLAMA));
  /** The write happens off the response path: repeat until the entry is served (or give up). */
  const untilHit = async (body: Record<string, unknown>) => {
    let out = await ask(body);
    for (let i = 0; i < 20 && out.body.cache !== 'hit'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      out = await ask(body);
    }
    return out;
  };
  const putContext = (key: string, text: string) =>
    call(`/v1/context/${encodeURIComponent(key)}`, { method: 'PUT', key: DEV_KEYS.admin, body: { text } });

  const stack = useStack(
    async () => {
      metricsPort = await freePort();
      return {
        components,
        apps: serviceApps({
          answerCache: true,
          aiCoreEnv: { ANSWER_CACHE_TTL_SECONDS: '120', LOG_LEVEL: 'info', METRICS_PORT: String(metricsPort) },
          gatewayEnv: { REQUEST_TIMEOUT_MS: '8000' },
        }),
      };
    },
    { afterEach: 'heal' },
  );

  beforeAll(() => {
    sim = stack.simulator;
    gateway = stack.appUrl('gateway-service');
  });

  test('when a question is repeated, then the repeat is a hit that calls no model and says so', async () => {
    await putContext('ac/handbook', 'New hires get a laptop on day one.');
    const body = { prompt: fresh('What do new hires get?'), contextKey: 'ac/handbook' };
    const first = await ask(body);
    expect(first.status).toBe(200);
    expect(first.body.cache).toBe('miss');
    expect(first.header).toBe('miss');
    const hit = await untilHit(body);
    expect(hit.body).toMatchObject({
      cache: 'hit',
      answer: first.body.answer,
      answeredBy: first.body.answeredBy,
      degraded: false,
      context: { key: 'ac/handbook' },
    });
    expect(hit.header).toBe('hit');
    expect(hit.body.requestId).not.toBe(first.body.requestId);

    const before = await modelCalls();
    const hits = await lookups('hit');
    for (let i = 0; i < 3; i++) expect((await ask(body)).body.cache).toBe('hit');
    expect(await modelCalls()).toBe(before);
    expect(await lookups('hit')).toBe(hits + 3);
  });

  test('when the context is updated (PUT) or deleted, then the old answer is never served again', async () => {
    const key = 'ac/pricing';
    await putContext(key, 'The pro plan costs 12 euros.');
    const body = { prompt: fresh('How much is pro?'), contextKey: key };
    const old = await untilHit(body);
    expect(old.body.answer).toContain('12 euros');

    expect((await putContext(key, 'The pro plan costs 15 euros.')).status).toBe(200);
    const before = await modelCalls();
    const updated = await ask(body);
    expect(updated.body.cache).toBe('miss');
    expect(updated.body.answer).toContain('15 euros');
    expect(updated.body.answer).not.toContain('12 euros');
    expect(await modelCalls()).toBeGreaterThan(before);

    expect(
      (await call(`/v1/context/${encodeURIComponent(key)}`, { method: 'DELETE', key: DEV_KEYS.admin })).status,
    ).toBe(200);
    const deleted = await ask(body);
    expect(deleted.body).toMatchObject({ cache: 'miss', context: { source: 'none' } });
    expect(deleted.body.answer).not.toMatch(/1[25] euros/);
  });

  test('when the caller sends Cache-Control: no-cache or cache: false, then the cache is bypassed and the models answer', async () => {
    const body = { prompt: fresh('Bypass me') };
    await untilHit(body);
    const before = await modelCalls();
    const header = await ask(body, { 'cache-control': 'no-cache' });
    expect(header.body.cache).toBe('bypass');
    expect(header.header).toBe('bypass');
    const flag = await ask({ ...body, cache: false });
    expect(flag.body.cache).toBe('bypass');
    expect(await modelCalls()).toBeGreaterThanOrEqual(before + 4); // strategy both: two models each time
  });

  test('when one model fails (a degraded answer), then that answer is not cached', async () => {
    await sim.setFault(LLAMA, { failRate: 1, error: 'throttling' });
    const body = { prompt: fresh('Degraded?') };
    const first = await ask(body);
    expect(first.body).toMatchObject({ degraded: true, cache: 'miss' });
    await new Promise((r) => setTimeout(r, 200)); // room for a (wrong) write to land
    const second = await ask(body);
    expect(second.body).toMatchObject({ degraded: true, cache: 'miss' });
    await sim.heal();
    const healthy = await ask(body);
    expect(healthy.body).toMatchObject({ degraded: false, cache: 'miss' }); // the degraded answers were never stored
    expect((await untilHit(body)).body.degraded).toBe(false);
  });

  test('when a chat completion is repeated, then it is a hit with no model call; streams bypass', async () => {
    const request = { model: 'auto', messages: [{ role: 'user', content: fresh('Chat question') }] };
    const chat = (headers: Record<string, string> = {}, extra: Record<string, unknown> = {}) =>
      call('/v1/chat/completions', { body: { ...request, ...extra }, headers });
    const first = await chat();
    expect(first.status).toBe(200);
    expect(first.headers.get('x-context-qa-cache')).toBe('miss');
    const text = ((await first.json()) as ChatCompletion).choices[0]!.message.content;
    let res = await chat();
    for (let i = 0; i < 20 && res.headers.get('x-context-qa-cache') !== 'hit'; i++) res = await chat();
    expect(res.headers.get('x-context-qa-cache')).toBe('hit');
    expect(((await res.json()) as ChatCompletion).choices[0]!.message.content).toBe(text);
    const before = await modelCalls();
    expect((await chat()).headers.get('x-context-qa-cache')).toBe('hit');
    expect(await modelCalls()).toBe(before);

    const bypass = await chat({ 'cache-control': 'no-cache' });
    expect(bypass.headers.get('x-context-qa-cache')).toBe('bypass');
    const stream = await chat({}, { stream: true });
    expect(stream.headers.get('x-context-qa-cache')).toBe('bypass');
    expect(await stream.text()).toContain('[DONE]');
  });

  if (components === 'local') {
    test('when Redis is down, then answers still come (the cache fails open) and a read error is counted', async () => {
      const body = { prompt: fresh('Redis down?') };
      const errors = await lookups('error');
      await stack.proc('redis').stop();
      try {
        const out = await ask(body);
        expect(out.status).toBe(200);
        expect(out.body.cache).toBe('miss');
        expect(await lookups('error')).toBe(errors + 1);
      } finally {
        await stack.proc('redis').start();
      }
    }, 30_000);
  }
});
