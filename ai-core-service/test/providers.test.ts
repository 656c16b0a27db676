/**
 * Both model adapters with their real SDKs against the in-process simulator:
 * streaming, finish reasons, usage, stream faults and cancellation.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chunks, useSimulator } from '@context-qa/model-sim';
import { azureOpenAIModel } from '../src/adapters/models/azure-openai';
import { bedrockModel, converseMessages } from '../src/adapters/models/bedrock';
import { samplingFor } from '../src/adapters/models/sampling';
import { ModelError, type GenerateRequest, type ModelProvider, type StreamEvent } from '../src/domain/ports';

const MAVERICK = 'us.meta.llama4-maverick-17b-instruct-v1:0';
const REQ: GenerateRequest = {
  system: 'Answer from the context.\n<context>The moon is made of basalt.</context>',
  user: 'What is the moon made of, and why does it look grey from here?',
  maxTokens: 200,
};

interface Case {
  kind: string;
  /** The simulator's streaming operation and target, for its counters. */
  op: string;
  target: string;
  make: (url: string) => ModelProvider;
}

const CASES: Case[] = [
  {
    kind: 'bedrock',
    op: 'converse-stream',
    target: MAVERICK,
    make: (url) => bedrockModel({ name: 'llama4', region: 'us-east-1', modelId: MAVERICK, endpoint: url }),
  },
  {
    kind: 'azure-openai',
    op: 'chat-stream',
    target: 'gpt-4',
    make: (url) =>
      azureOpenAIModel({
        name: 'gpt4',
        endpoint: url,
        deployment: 'gpt-4',
        apiVersion: '2024-10-21',
        apiKey: async () => 'sim-key',
      }),
  },
];

/** Reads a stream to its end or its error. */
async function drain(events: AsyncIterable<StreamEvent>) {
  const deltas: string[] = [];
  let end: Extract<StreamEvent, { type: 'end' }> | undefined;
  try {
    for await (const ev of events) {
      if (ev.type === 'delta') deltas.push(ev.text);
      else end = ev;
    }
    return { deltas, end, error: undefined };
  } catch (error) {
    return { deltas, end, error };
  }
}

/** Polls until `check` holds: the simulator sees a closed connection a moment after we close it. */
async function eventually(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition never held');
}

/** A proxy to the simulator that ends each response cleanly after its first body piece: no stop event, no error. */
async function cutShort(target: string) {
  const server = http.createServer((req, res) => {
    const up = http.request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, {
        'content-type': upRes.headers['content-type'] ?? 'application/octet-stream',
      });
      upRes.once('data', (piece: Buffer) => {
        res.end(piece);
        upRes.destroy();
      });
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const clouds = useSimulator({ afterEach: 'heal-and-reset' });
const signal = () => new AbortController().signal;

describe.each(CASES)('$kind provider', ({ op, target, make }) => {
  let model: ModelProvider;
  beforeAll(() => (model = make(clouds.sim.url)));

  test('when streamed, then the deltas join to exactly the non-streamed answer, and `end` carries finishReason and usage', async () => {
    const plain = await model.generate(REQ, signal());
    const out = await drain(model.stream(REQ, signal()));
    expect(out.error).toBeUndefined();
    expect(out.deltas.length).toBeGreaterThan(1);
    expect(out.deltas.join('')).toBe(plain.text);
    expect(plain.text).toContain('"The moon is made of basalt."');
    expect(plain.finishReason).toBe('stop');
    expect(out.end).toEqual({ type: 'end', finishReason: 'stop', usage: plain.usage });
    expect(plain.usage).toMatchObject<Record<string, unknown>>({
      inputTokens: expect.any(Number),
      outputTokens: expect.any(Number),
    });
  });

  test('when maxTokens cuts the answer, then it has that many words and both calls finish with `length`', async () => {
    const short = { ...REQ, maxTokens: 4 };
    const plain = await model.generate(short, signal());
    expect(plain.text.split(' ')).toHaveLength(4);
    expect(plain.finishReason).toBe('length');
    const out = await drain(model.stream(short, signal()));
    expect(out.deltas.join('')).toBe(plain.text);
    expect(out.end?.finishReason).toBe('length');
  });

  test.each([1.5, 2])(
    "when the temperature is %p (OpenAI's range, above Llama's 1), then it is put in the API's range and the model answers",
    async (temperature) => {
      const plain = await model.generate({ ...REQ, temperature, topP: 1, stop: ['never-said'] }, signal());
      expect(plain.text).toContain('"The moon is made of basalt."');
      const out = await drain(model.stream({ ...REQ, temperature }, signal()));
      expect(out.error).toBeUndefined();
      expect(out.end?.finishReason).toBe('stop');
    },
  );

  test('when earlier turns are given, then the model sees them (the answer quotes context from the history)', async () => {
    const req = {
      ...REQ,
      system: 'Answer briefly.',
      history: [
        { role: 'user' as const, text: 'Remember <context>HISTORY-FACT</context>' },
        { role: 'assistant' as const, text: 'Noted.' },
      ],
      user: 'What did I ask you to remember?',
    };
    const text = (await model.generate(req, signal())).text;
    expect(text).toContain('"HISTORY-FACT"');
    expect(text).toContain('What did I ask you to remember?');
  });

  test('when the stream fails with an error event after two chunks, then those arrive and the stream throws upstream_error', async () => {
    const full = (await model.generate(REQ, signal())).text;
    await clouds.admin.setFault(target, { failAfterChunks: 2, midStream: 'error' });
    const out = await drain(model.stream(REQ, signal()));
    expect(out.deltas.join('')).toBe(chunks(full).slice(0, 2).join(''));
    expect(out.error).toBeInstanceOf(ModelError);
    expect(out.error).toMatchObject({ kind: 'upstream_error' });
    expect(out.end).toBeUndefined();
  });

  test('when the connection drops mid-stream, then the stream throws (never a quiet end)', async () => {
    // The pause lets the first chunk leave before the drop discards what is still buffered.
    await clouds.admin.setFault(target, { failAfterChunks: 2, chunkDelayMs: 20, midStream: 'drop' });
    const out = await drain(model.stream(REQ, signal()));
    expect(out.deltas.length).toBeGreaterThan(0);
    expect(out.error).toBeInstanceOf(ModelError);
    expect(out.error).toMatchObject({ kind: 'upstream_error', message: 'stream ended before the model finished' });
    expect(out.end).toBeUndefined();
  });

  test('when the response ends cleanly before the stop event, then the stream throws (the SDK alone would end quietly)', async () => {
    await clouds.admin.setFault(target, { chunkDelayMs: 50 });
    const proxy = await cutShort(clouds.sim.url);
    try {
      const out = await drain(make(proxy.url).stream(REQ, signal()));
      expect(out.error).toBeInstanceOf(ModelError);
      expect(out.error).toMatchObject({ kind: 'upstream_error', message: 'stream ended before the model finished' });
      expect(out.end).toBeUndefined();
    } finally {
      await proxy.close();
    }
  });

  test('when the API throttles before the first chunk, then the stream throws rate_limited and yields nothing', async () => {
    await clouds.admin.setFault(target, { failRate: 1, error: 'throttling' });
    const out = await drain(model.stream(REQ, signal()));
    expect(out.deltas).toEqual([]);
    expect(out.error).toBeInstanceOf(ModelError);
    expect(out.error).toMatchObject({ kind: 'rate_limited' });
  });

  test('when our signal aborts mid-stream, then the stream throws cancelled and the upstream connection is closed', async () => {
    await clouds.admin.setFault(target, { chunkDelayMs: 50 });
    const ctl = new AbortController();
    const it = model.stream(REQ, ctl.signal)[Symbol.asyncIterator]();
    expect((await it.next()).value).toMatchObject({ type: 'delta' });
    expect(await clouds.admin.route(op, target)).toMatchObject({ open: 1, abandoned: 0 });
    ctl.abort();
    await expect(it.next()).rejects.toMatchObject({ kind: 'cancelled' });
    await eventually(async () => (await clouds.admin.route(op, target)).open === 0);
    expect(await clouds.admin.route(op, target)).toMatchObject({ requests: 1, open: 0, abandoned: 1 });
  });

  test('when the consumer stops reading mid-stream, then the upstream connection is closed too', async () => {
    await clouds.admin.setFault(target, { chunkDelayMs: 50 });
    for await (const ev of model.stream(REQ, signal())) {
      expect(ev.type).toBe('delta');
      break;
    }
    await eventually(async () => (await clouds.admin.route(op, target)).open === 0);
    expect(await clouds.admin.route(op, target)).toMatchObject({ requests: 1, open: 0, abandoned: 1 });
  });
});

describe('sampling parameters per provider (adapters/models/sampling.ts)', () => {
  test("when a value is above the provider's range, then it is clamped to its top; values inside stay exact", () => {
    const req = { ...REQ, temperature: 1.5, topP: 0.9, stop: ['a', 'b'] };
    expect(samplingFor('bedrock', req)).toEqual({ temperature: 1, topP: 0.9, stop: ['a', 'b'] });
    expect(samplingFor('azure-openai', req)).toEqual({ temperature: 1.5, topP: 0.9, stop: ['a', 'b'] });
    expect(samplingFor('bedrock', { ...REQ, temperature: 0.7 })).toEqual({ temperature: 0.7 });
    expect(samplingFor('bedrock', REQ)).toEqual({}); // unset: the model's own defaults
  });
});

describe('Bedrock conversation shape', () => {
  test('when turns repeat a role or open with the assistant, then Converse still gets user first, roles alternating', () => {
    const messages = converseMessages({
      ...REQ,
      history: [
        { role: 'assistant', text: 'Hi, how can I help?' },
        { role: 'user', text: 'one' },
        { role: 'user', text: 'two' },
      ],
      user: 'three',
    });
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(messages[2]?.content).toEqual([{ text: 'one\n\ntwo\n\nthree' }]);
  });

  test('when the history opens with the assistant, then Bedrock accepts the conversation', async () => {
    const model = CASES[0]!.make(clouds.sim.url);
    const out = await model.generate(
      { ...REQ, history: [{ role: 'assistant', text: 'Hi, how can I help?' }] },
      signal(),
    );
    expect(out.text).toContain('"The moon is made of basalt."');
  });
});
