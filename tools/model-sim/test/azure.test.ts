/** The real openai client (AzureOpenAI and the v1 route) against the simulator. */
import OpenAI, {
  APIConnectionError,
  AzureOpenAI,
  BadRequestError,
  InternalServerError,
  NotFoundError,
  RateLimitError,
} from 'openai';
import { useSimulator } from '../src';

const DEPLOYMENT = 'gpt-4';
const API_VERSION = '2024-10-21';
const MESSAGES = [
  { role: 'system' as const, content: 'Answer from the context.\n<context>Paris is the capital of France.</context>' },
  { role: 'user' as const, content: 'What is the capital of France?' },
];

describe('Azure OpenAI simulator', () => {
  const clouds = useSimulator({ afterEach: 'heal-and-reset' });
  const azure = (opts: { timeout?: number; apiVersion?: string; deployment?: string } = {}) =>
    new AzureOpenAI({
      endpoint: clouds.sim.url,
      apiKey: 'sim-key',
      apiVersion: opts.apiVersion ?? API_VERSION,
      deployment: opts.deployment ?? DEPLOYMENT,
      maxRetries: 0,
      ...(opts.timeout ? { timeout: opts.timeout } : {}),
    });
  const ask = (client = azure()) =>
    client.chat.completions.create({ model: DEPLOYMENT, messages: MESSAGES, max_tokens: 200 });
  const askStream = (client = azure()) =>
    client.chat.completions.create({
      model: DEPLOYMENT,
      messages: MESSAGES,
      stream: true,
      stream_options: { include_usage: true },
    });

  test('when a deployment is asked, then the answer names it, quotes the context and reports usage', async () => {
    const out = await ask();
    const text = out.choices[0]?.message.content ?? '';
    expect(text).toContain(`[${DEPLOYMENT}]`);
    expect(text).toContain('"Paris is the capital of France."');
    expect(out.choices[0]?.finish_reason).toBe('stop');
    expect(out.usage?.total_tokens).toBe(out.usage!.prompt_tokens + out.usage!.completion_tokens);
    expect(await clouds.admin.requests('chat', DEPLOYMENT)).toBe(1);
  });

  test('when the v1 route is used with a bearer token, then the deployment comes from `model`', async () => {
    const v1 = new OpenAI({ baseURL: `${clouds.sim.url}/openai/v1`, apiKey: 'entra-token', maxRetries: 0 });
    const out = await v1.chat.completions.create({ model: 'gpt-4o', messages: MESSAGES });
    expect(out.choices[0]?.message.content).toContain('[gpt-4o]');
  });

  test.each([
    [{ temperature: 2.5 }, "'temperature'"],
    [{ top_p: 1.5 }, "'top_p'"],
    [{ stop: ['a', 'b', 'c', 'd', 'e'] }, "'stop'"],
  ])(
    'when sampling is %j (outside the Azure OpenAI ranges), then 400 naming the parameter',
    async (sampling, param) => {
      const err = await azure()
        .chat.completions.create({ model: DEPLOYMENT, messages: MESSAGES, ...sampling })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BadRequestError);
      expect((err as BadRequestError).message).toContain(param);
    },
  );

  test('when temperature is 2 and top_p 1 (the tops of the ranges), then it answers', async () => {
    const out = await azure().chat.completions.create({
      model: DEPLOYMENT,
      messages: MESSAGES,
      temperature: 2,
      top_p: 1,
    });
    expect(out.choices[0]?.finish_reason).toBe('stop');
  });

  test('when streaming, then chunks (after a content-filter chunk with no delta) join to the answer, then usage and [DONE]', async () => {
    const plain = (await ask()).choices[0]?.message.content;
    let text = '';
    let sawFilterChunk = false;
    let usage: unknown;
    for await (const chunk of await askStream()) {
      if (chunk.choices.length === 0 && !chunk.usage) sawFilterChunk = true;
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(sawFilterChunk).toBe(true);
    expect(text).toBe(plain);
    expect(usage).toMatchObject<Record<string, unknown>>({
      prompt_tokens: expect.any(Number),
      completion_tokens: expect.any(Number),
    });
  });

  test('when the deployment does not exist, then NotFoundError with code DeploymentNotFound', async () => {
    const err = await ask(azure({ deployment: 'gpt-5-nope' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).code).toBe('DeploymentNotFound');
  });

  test('when the api-version is unsupported, then 400; when it is missing, then 404 like Azure', async () => {
    const err = await ask(azure({ apiVersion: '1999-01-01' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).message).toContain('API version not supported');
    const res = await fetch(`${clouds.sim.url}/openai/deployments/${DEPLOYMENT}/chat/completions`, {
      method: 'POST',
      headers: { 'api-key': 'k', 'content-type': 'application/json' },
      body: JSON.stringify({ messages: MESSAGES }),
    });
    expect(res.status).toBe(404);
  });

  test('when no api-key or bearer token is sent, then 401', async () => {
    const res = await fetch(
      `${clouds.sim.url}/openai/deployments/${DEPLOYMENT}/chat/completions?api-version=${API_VERSION}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: MESSAGES }),
      },
    );
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: '401' } });
  });

  test('when throttled, then RateLimitError with retry-after', async () => {
    await clouds.admin.setFault(DEPLOYMENT, { failRate: 1, error: 'throttling' });
    const err = await ask().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).headers.get('retry-after')).toBe('1');
  });

  test.each(['internal', 'unavailable'])('when %s is injected, then InternalServerError', async (error) => {
    await clouds.admin.setFault(DEPLOYMENT, { failRate: 1, error });
    await expect(ask()).rejects.toBeInstanceOf(InternalServerError);
    expect((await clouds.admin.counters())[`chat ${DEPLOYMENT}`]).toMatchObject({ requests: 1, errors: 1 });
  });

  test('when the deployment hangs, then the call ends in the client timeout', async () => {
    await clouds.admin.setFault(DEPLOYMENT, { hang: true });
    const t0 = Date.now();
    const err = await ask(azure({ timeout: 300 })).catch((e: unknown) => e);
    // Plain Node gives APIConnectionTimeoutError; under jest's VM the SDK cannot tell
    // its AbortError from another realm's and reports the parent class.
    expect(err).toBeInstanceOf(APIConnectionError);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(await clouds.admin.requests('chat', DEPLOYMENT)).toBe(1);
  });

  test.each([0, 2])(
    'when the stream fails after %d chunks, then iterating throws instead of returning a short answer',
    async (n) => {
      await clouds.admin.setFault(DEPLOYMENT, { failAfterChunks: n });
      let deltas = 0;
      const run = async () => {
        for await (const c of await askStream()) if (c.choices[0]?.delta?.content) deltas++;
      };
      await expect(run()).rejects.toThrow(/failed part-way/);
      expect(deltas).toBe(n);
    },
  );

  test('when the connection drops mid-stream, then iterating throws', async () => {
    await clouds.admin.setFault(DEPLOYMENT, { failAfterChunks: 1, midStream: 'drop', chunkDelayMs: 10 });
    const run = async () => {
      for await (const _ of await askStream());
    };
    await expect(run()).rejects.toThrow();
  });
});
