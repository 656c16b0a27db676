/** The real Bedrock Runtime client against the simulator: wire format, errors, faults. */
import {
  AccessDeniedException,
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  InternalServerException,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
  ModelErrorException,
  ModelStreamErrorException,
  ModelTimeoutException,
  ResourceNotFoundException,
  ServiceUnavailableException,
  ThrottlingException,
  ValidationException,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { useSimulator } from '../src';

const MODEL = 'us.meta.llama4-maverick-17b-instruct-v1:0';
const PROMPT = 'Answer from the context.\n<context>The moon is made of basalt.</context>\nWhat is the moon made of?';

describe('Bedrock Runtime simulator', () => {
  const clouds = useSimulator({ afterEach: 'heal-and-reset' });
  const client = (requestTimeout?: number) =>
    new BedrockRuntimeClient({
      endpoint: clouds.sim.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      // HTTP/1.1: the SDK's default HTTP/2 handler is not served by the simulator.
      // Recent @smithy/node-http-handler only warns on requestTimeout unless told to throw.
      requestHandler: new NodeHttpHandler(requestTimeout ? { requestTimeout, throwOnRequestTimeout: true } : {}),
      maxAttempts: 1,
    });
  const converse = (text = PROMPT, modelId = MODEL) =>
    new ConverseCommand({
      modelId,
      messages: [{ role: 'user', content: [{ text }] }],
      inferenceConfig: { maxTokens: 256 },
    });

  test('when Converse is called, then the answer names the model, quotes the context and reports usage', async () => {
    const out = await client().send(converse());
    const text = out.output?.message?.content?.[0]?.text ?? '';
    expect(text).toContain(`[${MODEL}]`);
    expect(text).toContain('"The moon is made of basalt."');
    expect(out.stopReason).toBe('end_turn');
    expect(out.usage?.inputTokens).toBe(Math.ceil(PROMPT.length / 4));
    expect(out.usage?.totalTokens).toBe(out.usage!.inputTokens! + out.usage!.outputTokens!);
    expect(await clouds.admin.requests('converse', MODEL)).toBe(1);
  });

  test('when maxTokens is small, then the answer is cut and stopReason is max_tokens', async () => {
    const out = await client().send(
      new ConverseCommand({
        modelId: MODEL,
        messages: [{ role: 'user', content: [{ text: PROMPT }] }],
        inferenceConfig: { maxTokens: 3 },
      }),
    );
    expect(out.output?.message?.content?.[0]?.text?.split(' ')).toHaveLength(3);
    expect(out.stopReason).toBe('max_tokens');
  });

  test('when ConverseStream is called, then deltas join to the full answer and metadata carries usage', async () => {
    const plain = (await client().send(converse())).output?.message?.content?.[0]?.text;
    const out = await client().send(
      new ConverseStreamCommand({ modelId: MODEL, messages: [{ role: 'user', content: [{ text: PROMPT }] }] }),
    );
    const kinds: string[] = [];
    let text = '';
    let usage: unknown;
    for await (const ev of out.stream!) {
      kinds.push(Object.keys(ev).find((k) => (ev as unknown as Record<string, unknown>)[k] !== undefined)!);
      text += ev.contentBlockDelta?.delta?.text ?? '';
      if (ev.metadata) usage = ev.metadata.usage;
    }
    expect(text).toBe(plain);
    expect(kinds[0]).toBe('messageStart');
    expect(kinds.slice(-3)).toEqual(['contentBlockStop', 'messageStop', 'metadata']);
    expect(kinds.filter((k) => k === 'contentBlockDelta').length).toBeGreaterThan(1);
    expect(usage).toMatchObject<Record<string, unknown>>({
      inputTokens: expect.any(Number),
      outputTokens: expect.any(Number),
    });
  });

  test('when InvokeModel gets the Llama native body, then it answers generation and token counts', async () => {
    const out = await client().send(
      new InvokeModelCommand({
        modelId: MODEL,
        contentType: 'application/json',
        body: JSON.stringify({ prompt: PROMPT, max_gen_len: 512, temperature: 0.2, top_p: 0.9 }),
      }),
    );
    const body = JSON.parse(new TextDecoder().decode(out.body)) as { generation: string };
    expect(body.generation).toContain('The moon is made of basalt.');
    expect(body).toMatchObject<Record<string, unknown>>({
      prompt_token_count: expect.any(Number),
      generation_token_count: expect.any(Number),
      stop_reason: 'stop',
    });
  });

  test('when InvokeModelWithResponseStream is called, then chunks carry the generation and a final stop_reason', async () => {
    const out = await client().send(
      new InvokeModelWithResponseStreamCommand({ modelId: MODEL, body: JSON.stringify({ prompt: PROMPT }) }),
    );
    const parts: { generation: string; stop_reason: string | null }[] = [];
    for await (const ev of out.body!)
      parts.push(JSON.parse(new TextDecoder().decode(ev.chunk!.bytes)) as (typeof parts)[number]);
    expect(parts.map((p) => p.generation).join('')).toContain('basalt');
    expect(parts.at(-1)?.stop_reason).toBe('stop');
  });

  test('when the model id is unknown, then ResourceNotFoundException', async () => {
    await expect(client().send(converse(PROMPT, 'meta.llama4-70b-chat-v1'))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  test('when the base Maverick id is used without an inference profile, then ValidationException says so', async () => {
    const err = await client()
      .send(converse(PROMPT, 'meta.llama4-maverick-17b-instruct-v1:0'))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationException);
    expect((err as ValidationException).message).toMatch(/inference profile/);
  });

  test('when the request is not SigV4-signed, then AccessDeniedException (403)', async () => {
    const res = await fetch(`${clouds.sim.url}/model/${encodeURIComponent(MODEL)}/converse`, {
      method: 'POST',
      body: '{}',
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('x-amzn-errortype')).toBe('AccessDeniedException');
  });

  test('when the body is malformed, then ValidationException names the field', async () => {
    const err = await client()
      .send(
        new ConverseCommand({
          modelId: MODEL,
          messages: [{ role: 'user', content: [{ text: 'hi' }] }],
          inferenceConfig: { maxTokens: 0 },
        }),
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationException);
    expect((err as ValidationException).message).toContain('inferenceConfig.maxTokens');
    const missing = await client()
      .send(new InvokeModelCommand({ modelId: MODEL, body: JSON.stringify({ max_gen_len: 10 }) }))
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ValidationException);
    expect((missing as ValidationException).message).toContain('prompt');
  });

  test.each([
    [{ temperature: 1.5 }, 'inferenceConfig.temperature'],
    [{ topP: 1.01 }, 'inferenceConfig.topP'],
    [{ stopSequences: Array.from({ length: 2501 }, (_, i) => `s${i}`) }, 'inferenceConfig.stopSequences'],
  ])(
    'when inferenceConfig is %j (outside Converse ranges for Llama), then 400 ValidationException names the field',
    async (inferenceConfig, field) => {
      const err = await client()
        .send(
          new ConverseCommand({
            modelId: MODEL,
            messages: [{ role: 'user', content: [{ text: 'hi' }] }],
            inferenceConfig,
          }),
        )
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationException);
      expect((err as ValidationException).$metadata.httpStatusCode).toBe(400);
      expect((err as ValidationException).message).toContain(field);
    },
  );

  test.each([
    ['throttling', ThrottlingException, 429],
    ['internal', InternalServerException, 500],
    ['unavailable', ServiceUnavailableException, 503],
    ['model-timeout', ModelTimeoutException, 408],
    ['model-error', ModelErrorException, 424],
    ['access-denied', AccessDeniedException, 403],
  ] as const)('when %s is injected, then the SDK raises its own %p (HTTP %d)', async (error, cls, status) => {
    await clouds.admin.setFault(MODEL, { failRate: 1, error });
    const err = await client()
      .send(converse())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(cls);
    expect((err as InstanceType<typeof cls>).$metadata.httpStatusCode).toBe(status);
    expect((await clouds.admin.counters())[`converse ${MODEL}`]).toMatchObject({ requests: 1, errors: 1 });
  });

  test('when the model hangs, then the call ends in the client timeout and the simulator counted it', async () => {
    await clouds.admin.setFault(MODEL, { hang: true });
    const err = await client(300)
      .send(converse())
      .catch((e: unknown) => e);
    expect((err as Error).name).toBe('TimeoutError');
    expect(await clouds.admin.requests('converse', MODEL)).toBe(1);
  });

  test('when the model hangs and the caller aborts, then the call rejects with AbortError', async () => {
    await clouds.admin.setFault(MODEL, { hang: true });
    const err = await client()
      .send(converse(), { abortSignal: AbortSignal.timeout(200) })
      .catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
  });

  test('when latency is injected, then the answer comes no sooner', async () => {
    await clouds.admin.setFault(MODEL, { latencyMs: 150 });
    const t0 = Date.now();
    await client().send(converse());
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
  });

  test.each([0, 2])(
    'when the stream fails after %d chunks, then iterating throws ModelStreamErrorException',
    async (n) => {
      await clouds.admin.setFault(MODEL, { failAfterChunks: n });
      const out = await client().send(
        new ConverseStreamCommand({ modelId: MODEL, messages: [{ role: 'user', content: [{ text: PROMPT }] }] }),
      );
      let deltas = 0;
      const err = await (async () => {
        for await (const ev of out.stream!) if (ev.contentBlockDelta) deltas++;
      })().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelStreamErrorException);
      expect(deltas).toBe(n);
    },
  );

  test('when the connection drops mid-stream, then iterating throws rather than ending quietly', async () => {
    await clouds.admin.setFault(MODEL, { failAfterChunks: 1, midStream: 'drop' });
    // Depending on when the drop lands, send() or the iteration fails: either way an error.
    const run = async () => {
      const out = await client().send(
        new ConverseStreamCommand({ modelId: MODEL, messages: [{ role: 'user', content: [{ text: PROMPT }] }] }),
      );
      for await (const _ of out.stream!);
    };
    await expect(run()).rejects.toThrow();
  });

  test('when a failure rate is set, then some requests fail and the counters add up', async () => {
    await clouds.admin.setFault(MODEL, { failRate: 0.5, error: 'throttling' });
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => client().send(converse())));
    const failed = results.filter((r) => r.status === 'rejected').length;
    expect(failed).toBeGreaterThan(0);
    expect(failed).toBeLessThan(20);
    expect((await clouds.admin.counters())[`converse ${MODEL}`]).toMatchObject({
      requests: 20,
      errors: failed,
      abandoned: 0,
    });
  });
});
