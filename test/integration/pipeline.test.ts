/**
 * The Q&A pipeline end to end through real processes: gateway → its daprd →
 * ai-core's daprd → ai-core → Redis/dynalite (or in-memory) and the model
 * simulator. Runs once per component set; only the components folder differs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { createClient } from 'redis';
import { type AskResponse, DEFAULT_TENANT, tenantStoreKey } from '@context-qa/common/contract';
import type { Problem } from '@context-qa/common/http';
import type { SimulatorAdmin } from '@context-qa/model-sim';
import { CONTEXT_TABLE, DEV_KEYS, dynamoClient, serviceApps, useStack, type ComponentSet } from '@context-qa/testkit';

const GPT = 'gpt-4';
const LLAMA = 'us.meta.llama4-maverick-17b-instruct-v1:0';

describe.each<ComponentSet>(['local', 'memory'])('the pipeline on components/%s', (components) => {
  let sim: SimulatorAdmin;
  let gateway: string;

  const call = (
    path: string,
    init: { method?: string; body?: unknown; key?: string | null; headers?: Record<string, string> } = {},
  ) =>
    fetch(`${gateway}${path}`, {
      method: init.method ?? 'POST',
      headers: {
        ...(init.key === null ? {} : { authorization: `Bearer ${init.key ?? DEV_KEYS.ask}` }),
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...init.headers,
      },
      ...(init.body !== undefined
        ? { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }
        : {}),
    });
  const ask = async (body: Record<string, unknown>) => {
    const res = await call('/v1/prompt', { body });
    return { status: res.status, body: (await res.json()) as AskResponse, headers: res.headers };
  };
  /** What an ingestion job does: write straight into the source of truth through Dapr. */
  const seedStore = (key: string, text: string) => stack.seedContextStore({ [key]: text });

  const stack = useStack(
    {
      components,
      apps: serviceApps({
        aiCoreEnv: {
          BREAKER_VOLUME_THRESHOLD: '3',
          BREAKER_RESET_TIMEOUT_MS: '1500',
          MODEL_TIMEOUT_MS: '3000',
          LOG_LEVEL: 'info',
        },
        gatewayEnv: { REQUEST_TIMEOUT_MS: '8000', LOG_LEVEL: 'info' },
      }),
    },
    { afterEach: 'heal' },
  );

  beforeAll(() => {
    sim = stack.simulator;
    gateway = stack.appUrl('gateway-service');
  });

  test('when context is put through the admin API, then the next answer is a cache hit that quotes it', async () => {
    const put = await call('/v1/context/handbook%2Fonboarding', {
      method: 'PUT',
      key: DEV_KEYS.admin,
      body: { text: 'New hires get a laptop on day one.' },
    });
    expect(put.status).toBe(200);
    const out = await ask({ prompt: 'What do new hires get?', contextKey: 'handbook/onboarding' });
    expect(out.status).toBe(200);
    expect(out.body).toMatchObject({
      context: { source: 'redis', key: 'handbook/onboarding' },
      degraded: false,
      answeredBy: 'gpt4',
    });
    expect(out.body.answer).toContain('New hires get a laptop on day one.');
    expect(out.body.models.llama4!.text).toContain('New hires get a laptop on day one.');
    expect(out.body.requestId).toBe(out.headers.get('x-request-id'));
  });

  test('when only the source of truth has the context, then it answers from it and writes it back to the cache', async () => {
    await seedStore('pricing', 'The pro plan costs 12 euros.');
    const first = await ask({ prompt: 'How much is pro?', contextKey: 'pricing' });
    expect(first.body.context.source).toBe('dynamodb');
    expect(first.body.answer).toContain('The pro plan costs 12 euros.');
    // The write-back runs after the answer: poll until it has landed.
    let source = '';
    for (let i = 0; i < 20 && source !== 'redis'; i++)
      source = (await ask({ prompt: 'How much is pro?', contextKey: 'pricing' })).body.context.source;
    expect(source).toBe('redis');
  });

  test('when no store has context for the prompt, then the answer has none and is not degraded', async () => {
    const out = await ask({ prompt: `A question nobody stored ${Date.now()}` });
    expect(out.status).toBe(200);
    expect(out.body).toMatchObject({ context: { source: 'none' }, degraded: false });
    expect(out.body.answer).toContain('No context was provided');
  });

  test('when Llama fails, then GPT-4 answers and the answer is marked degraded', async () => {
    await sim.setFault(LLAMA, { failRate: 1, error: 'throttling' });
    const out = await ask({ prompt: 'hello', strategy: 'both' });
    expect(out.status).toBe(200);
    expect(out.body).toMatchObject({
      answeredBy: 'gpt4',
      degraded: true,
      models: { llama4: { status: 'error' }, gpt4: { status: 'ok' } },
    });
  });

  test('when both models fail, then 503 problem+json lists each model status', async () => {
    await sim.setFault('*', { failRate: 1, error: 'unavailable' });
    const res = await call('/v1/prompt', { body: { prompt: 'hello' } });
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const body = (await res.json()) as Problem;
    expect(body.models).toMatchObject({ gpt4: { status: 'error' }, llama4: { status: 'error' } });
    expect(body.requestId).toBe(res.headers.get('x-request-id'));
  });

  test('when GPT-4 keeps failing, then its breaker opens, stops calling it, and closes after it heals', async () => {
    await sim.setFault(GPT, { failRate: 1, error: 'internal' });
    let status = '';
    for (let i = 0; i < 20 && status !== 'circuit_open'; i++)
      status = (await ask({ prompt: 'breaker' })).body.models.gpt4!.status;
    expect(status).toBe('circuit_open');
    const calledWhenOpen = await sim.requests('chat', GPT);
    for (let i = 0; i < 3; i++) {
      const out = await ask({ prompt: 'breaker' });
      expect(out.body).toMatchObject({
        answeredBy: 'llama4',
        degraded: true,
        models: { gpt4: { status: 'circuit_open' } },
      });
    }
    expect(await sim.requests('chat', GPT)).toBe(calledWhenOpen);

    await sim.heal();
    await new Promise((r) => setTimeout(r, 1700)); // past BREAKER_RESET_TIMEOUT_MS: a trial call is let through
    const healed = await ask({ prompt: 'breaker' });
    expect(healed.body).toMatchObject({ answeredBy: 'gpt4', degraded: false, models: { gpt4: { status: 'ok' } } });
    expect(await sim.requests('chat', GPT)).toBe(calledWhenOpen + 1);
  });

  test('when prompts, context and keys pass through, then no log line at info level contains them', async () => {
    const secretPrompt = `PROMPT-MARKER-${Date.now()}`;
    const secretContext = `CONTEXT-MARKER-${Date.now()}`;
    await call('/v1/context/logcheck', { method: 'PUT', key: DEV_KEYS.admin, body: { text: secretContext } });
    expect((await ask({ prompt: secretPrompt, contextKey: 'logcheck' })).status).toBe(200);
    await call('/v1/prompt', { body: { prompt: secretPrompt, bogus: true } }); // a rejected one too
    const logs = ['gateway-service', 'ai-core-service']
      .map((s) => readFileSync(path.join(stack.logDir, `${s}.log`), 'utf8'))
      .join('\n');
    expect(logs).toMatch(/"requestId"/); // they do log, with request ids
    for (const secret of [secretPrompt, secretContext, DEV_KEYS.ask, DEV_KEYS.admin])
      expect(logs).not.toContain(secret);
  });

  test('when the caller has no key, then 401; an ask key on context admin, then 403', async () => {
    expect((await call('/v1/prompt', { key: null, body: { prompt: 'hi' } })).status).toBe(401);
    expect((await call('/v1/prompt', { key: 'cqa_wrong', body: { prompt: 'hi' } })).status).toBe(401);
    expect((await call('/v1/context/x', { method: 'GET' })).status).toBe(403);
  });

  test.each([
    ['malformed JSON', { body: '{"prompt":' }, 400],
    ['wrong content type', { body: 'hi', headers: { 'content-type': 'text/plain' } }, 415],
    ['body over the limit', { body: { prompt: 'x'.repeat(70_000) } }, 413],
    ['wrongly typed field', { body: { prompt: 'hi', maxTokens: '5' } }, 400],
    ['unknown field', { body: { prompt: 'hi', extra: true } }, 400],
  ])('when %s, then %s problem+json, and the service stays healthy', async (_n, init, status) => {
    const res = await call('/v1/prompt', init);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(((await res.json()) as Problem).requestId).toBe(res.headers.get('x-request-id'));
    expect((await fetch(`${gateway}/readyz`)).status).toBe(200);
  });

  test('when unknown route or wrong method, then 404 / 405', async () => {
    expect((await call('/v2/prompt', {})).status).toBe(404);
    expect((await call('/v1/prompt', { method: 'GET' })).status).toBe(405);
  });

  test("when the sketch's POST /prompt?prompt= is used, then it answers with its llama and gpt4 keys", async () => {
    const res = await call('/prompt?prompt=What%20is%20context-qa%3F');
    const body = (await res.json()) as AskResponse & { llama: string; gpt4: string };
    expect(res.status).toBe(200);
    expect(body.gpt4).toContain('[gpt-4]');
    expect(body.llama).toContain(`[${LLAMA}]`);
    expect(body.answer).toBe(body.gpt4);
  });

  test('when ai-core is stopped, then the gateway answers 503 fast, and recovers when it is back', async () => {
    await stack.proc('ai-core-service').stop();
    const t0 = Date.now();
    const res = await call('/v1/prompt', { body: { prompt: 'anyone there?' } });
    expect(res.status).toBe(503);
    expect(Date.now() - t0).toBeLessThan(8000); // well inside REQUEST_TIMEOUT_MS: no hang
    expect((await fetch(`${gateway}/readyz`)).status).toBe(200); // a downstream outage does not empty the LB
    await stack.proc('ai-core-service').start();
    expect((await ask({ prompt: 'back?' })).status).toBe(200);
  });

  if (components === 'local') {
    test('when context is written back, then Redis and dynalite hold it, checked with their own clients', async () => {
      await seedStore('faq:sla', 'Uptime is 99.9 percent.');
      const stored = tenantStoreKey(DEFAULT_TENANT, 'faq:sla'); // the dev keys' tenant (docs/tenants-and-limits.md "Tenants")
      await ask({ prompt: 'What is the SLA?', contextKey: 'faq:sla' });
      const redis = createClient({ url: `redis://127.0.0.1:${stack.redisPort}` });
      await redis.connect();
      for (let i = 0; i < 40 && !(await redis.exists(stored)); i++) await new Promise((r) => setTimeout(r, 50)); // written after the answer
      const ddb = dynamoClient(stack.dynamoPort);
      try {
        expect(JSON.parse((await redis.hGet(stored, 'data'))!)).toMatchObject({ text: 'Uptime is 99.9 percent.' });
        expect(await redis.ttl(stored)).toBeGreaterThan(0);
        const item = await ddb.send(new GetItemCommand({ TableName: CONTEXT_TABLE, Key: { key: { S: stored } } }));
        expect(JSON.parse(item.Item?.['value']?.S ?? '{}')).toEqual({ text: 'Uptime is 99.9 percent.' });
      } finally {
        await redis.quit();
        ddb.destroy();
      }
    });

    test('when Redis is stopped, then answers still come from DynamoDB, and Redis is used again once back', async () => {
      await seedStore('redis-drill', 'Served from the source of truth.');
      await stack.proc('redis').stop();
      for (let i = 0; i < 3; i++) {
        const out = await ask({ prompt: 'drill', contextKey: 'redis-drill' });
        expect(out.status).toBe(200);
        expect(out.body.context.source).toBe('dynamodb');
        expect(out.body.answer).toContain('Served from the source of truth.');
      }
      await stack.proc('redis').start();
      let source = '';
      // The sidecar's cache breaker re-probes Redis after its 5 s open window.
      for (let i = 0; i < 40 && source !== 'redis'; i++) {
        source = (await ask({ prompt: 'drill', contextKey: 'redis-drill' })).body.context.source;
        if (source !== 'redis') await new Promise((r) => setTimeout(r, 250));
      }
      expect(source).toBe('redis');
    }, 30_000);
  }
});
