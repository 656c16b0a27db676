/**
 * The official `openai` client pointed at the gateway (baseURL + API key, no
 * other code), through both real sidecars to ai-core and the simulated models:
 * answers, streams, the model list, errors as the SDK's own classes, and the
 * stream fault drills (fallback before the first token, an error after it,
 * cancellation upstream when the client stops).
 */
import OpenAI, { APIError, AuthenticationError, BadRequestError, NotFoundError } from 'openai';
import type { SimulatorAdmin } from '@context-qa/model-sim';
import { DEV_KEYS, serviceApps, useStack } from '@context-qa/testkit';

const GPT = 'gpt-4';
const LLAMA = 'us.meta.llama4-maverick-17b-instruct-v1:0';

describe('the OpenAI-compatible API with the official client', () => {
  let sim: SimulatorAdmin;
  let client: OpenAI;

  const stack = useStack(
    {
      apps: serviceApps({
        aiCoreEnv: {
          STREAM_IDLE_TIMEOUT_MS: '1500',
          MODEL_TIMEOUT_MS: '5000',
          BREAKER_VOLUME_THRESHOLD: '50',
          LOG_LEVEL: 'warn',
        },
        gatewayEnv: { LOG_LEVEL: 'warn' },
      }),
    },
    { afterEach: 'heal' },
  );

  beforeAll(() => {
    sim = stack.simulator;
    client = new OpenAI({ baseURL: `${stack.appUrl('gateway-service')}/v1`, apiKey: DEV_KEYS.ask, maxRetries: 0 });
  });

  const messages = (q: string): OpenAI.ChatCompletionMessageParam[] => [
    { role: 'system', content: 'Answer briefly.' },
    { role: 'user', content: q },
  ];
  /** Reads a stream to its end: the content, the model of each chunk, and the usage chunk. */
  async function drain(stream: AsyncIterable<OpenAI.ChatCompletionChunk>) {
    let content = '';
    const models = new Set<string>();
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      models.add(chunk.model);
      content += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    return { content, models: [...models], usage };
  }
  const streamOf = (model: string, q: string) =>
    client.chat.completions.create({
      model,
      messages: messages(q),
      stream: true,
      stream_options: { include_usage: true },
    });

  test('when asked without streaming, then an OpenAI completion from the preferred model, grounded in the question', async () => {
    const { data: out, response } = await client.chat.completions
      .create({ model: 'auto', messages: messages('What is Dapr?') })
      .withResponse();
    expect(response.headers.get('x-context-qa-model')).toBe('gpt4');
    expect(out).toMatchObject({
      object: 'chat.completion',
      model: 'gpt4',
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant' } }],
    });
    expect(out.id).toMatch(/^chatcmpl-/);
    expect(out.choices[0]!.message.content).toContain('What is Dapr?');
    expect(out.usage!.total_tokens).toBe(out.usage!.prompt_tokens + out.usage!.completion_tokens);
  });

  test('when streamed, then the chunks reassemble to the same answer, with a usage chunk at the end', async () => {
    const whole = await client.chat.completions.create({ model: 'gpt4', messages: messages('Same answer?') });
    const streamed = await drain(await streamOf('gpt4', 'Same answer?'));
    expect(streamed.content).toBe(whole.choices[0]!.message.content);
    expect(streamed.models).toEqual(['gpt4']);
    expect(streamed.usage).toMatchObject({ completion_tokens: whole.usage!.completion_tokens });
  });

  test('when the first chunk reaches the client, then the model is still streaming: every hop forwards as it goes', async () => {
    await sim.setFault(GPT, { chunkDelayMs: 150 });
    const stream = await streamOf('gpt4', 'Stream me a long answer about sidecars and service invocation please.');
    const iterator = stream[Symbol.asyncIterator]();
    let first: OpenAI.ChatCompletionChunk | undefined;
    while (!first?.choices[0]?.delta.content)
      first = (await iterator.next()).value as OpenAI.ChatCompletionChunk | undefined;
    // The simulator has not finished the response behind this chunk yet.
    expect((await sim.route('chat-stream', GPT)).open).toBe(1);
    while (!(await iterator.next()).done);
    expect((await sim.route('chat-stream', GPT)).open).toBe(0);
  });

  test('when listing models, then the configured models and the routing aliases', async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toEqual(expect.arrayContaining(['gpt4', 'llama4', 'auto', 'primary', 'fastest']));
  });

  test("when the request is wrong, then each error surfaces as the SDK's own class", async () => {
    const wrongKey = new OpenAI({ baseURL: client.baseURL, apiKey: 'not-a-key', maxRetries: 0 });
    await expect(wrongKey.chat.completions.create({ model: 'auto', messages: messages('x') })).rejects.toBeInstanceOf(
      AuthenticationError,
    );
    const tools = [{ type: 'function' as const, function: { name: 'f', parameters: {} } }];
    await expect(
      client.chat.completions.create({ model: 'auto', messages: messages('x'), tools }),
    ).rejects.toBeInstanceOf(BadRequestError);
    await expect(client.chat.completions.create({ model: 'gpt-9', messages: messages('x') })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(
      client.chat.completions.create({ model: 'both', messages: messages('x'), stream: true }),
    ).rejects.toBeInstanceOf(BadRequestError);
    await expect(
      client.chat.completions.create({ model: 'auto', messages: messages('x'), max_tokens: 100_000 }),
    ).rejects.toBeInstanceOf(BadRequestError);
  });

  test("when every model fails, then a 503 with a stable code, as the SDK's APIError", async () => {
    await sim.setFault('*', { failRate: 1, error: 'internal' });
    const err = await client.chat.completions
      .create({ model: 'auto', messages: messages('x') })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect(err).toMatchObject({ status: 503, code: 'no_model_answered' });
  });

  describe('stream fault drills', () => {
    test('when the preferred model errors before its first chunk, then the other model answers and the client notices nothing', async () => {
      await sim.setFault(GPT, { failRate: 1, error: 'throttling' });
      const { data, response } = await streamOf('primary', 'fallback please').withResponse();
      expect(response.headers.get('x-context-qa-model')).toBe('llama4'); // the one place the fallback shows
      const out = await drain(data);
      expect(out.models).toEqual(['llama4']);
      expect(out.content).toContain('fallback please');
    });

    test('when the preferred model stalls before its first chunk, then the other model takes over after the idle timeout', async () => {
      await sim.setFault(GPT, { hang: true });
      const out = await drain(await streamOf('primary', 'stalled'));
      expect(out.models).toEqual(['llama4']);
      expect((await sim.route('chat-stream', GPT)).abandoned).toBeGreaterThan(0); // the stalled call was closed
    });

    test.each(['error', 'drop'] as const)(
      'when the answering model fails mid-stream (%s), then the SDK raises instead of ending quietly',
      async (midStream) => {
        await sim.setFault(GPT, { failAfterChunks: 3, chunkDelayMs: 20, midStream });
        const stream = await streamOf('primary', 'this answer will break');
        let content = '';
        const err = await (async () => {
          for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? '';
        })().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(APIError);
        expect(err).toMatchObject({ code: 'upstream_error' }); // ai-core's own error event, relayed as it was
        expect(content.length).toBeGreaterThan(0); // it had started: no fallback after the first token
      },
    );

    test('when the client stops reading mid-stream, then the upstream model call is closed', async () => {
      await sim.setFault(GPT, { chunkDelayMs: 200 });
      const before = (await sim.route('chat-stream', GPT)).abandoned;
      const stream = await streamOf('gpt4', 'a slow answer I will not wait for, with many words in it');
      for await (const chunk of stream) if (chunk.choices[0]?.delta.content) break; // break aborts the request
      let route = await sim.route('chat-stream', GPT);
      for (let i = 0; i < 100 && route.open > 0; i++)
        route = (await new Promise((r) => setTimeout(r, 50)), await sim.route('chat-stream', GPT));
      expect(route.open).toBe(0);
      expect(route.abandoned).toBe(before + 1);
    });

    test('when racing with fastest, then the model whose first token comes first answers, to its end', async () => {
      // Both have answered just now (earlier tests): the loser is stopped, the winner streams on.
      await client.chat.completions.create({ model: 'both', messages: messages('warm up') });
      await sim.setFault(GPT, { latencyMs: 800 });
      await sim.setFault(LLAMA, { chunkDelayMs: 30 });
      const whole = await client.chat.completions.create({ model: 'llama4', messages: messages('who is faster?') });
      const out = await drain(await streamOf('fastest', 'who is faster?'));
      expect(out.models).toEqual(['llama4']);
      expect(out.content).toBe(whole.choices[0]!.message.content);
    });
  });
});
