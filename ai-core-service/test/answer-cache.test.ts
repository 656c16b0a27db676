import type { AskRequest } from '@context-qa/common/contract';
import { Deadline } from '@context-qa/common/deadline';
import type { ChatMessage, ChatRequest } from '@context-qa/common/openai';
import { createLogger } from '@context-qa/common/telemetry';
import { AnswerCache, catalogueVersion, noCacheRequested, type AnswerLookupOutcome } from '../src/domain/answer-cache';
import { AnswerPipeline } from '../src/domain/answer/pipeline';
import type { CallBudget } from '../src/domain/ports';
import { chatQuestion } from '../src/entry-points/chat';
import { answerPrompt } from '../src/entry-points/prompt';
import { contextDeps, FakeAnswerStore, guardedModels, inTenant, MapStore, TENANT } from './fakes';

const CATALOGUE = [
  { name: 'gpt4', provider: 'azure-openai', target: 'gpt-4' },
  { name: 'llama4', provider: 'bedrock', target: 'us.meta.llama4-maverick-17b-instruct-v1:0' },
];

function setup(opts: { ttlSeconds?: number; version?: string } = {}) {
  const { models, deps: depsFor, shutdown } = guardedModels();
  const answerStore = new FakeAnswerStore();
  const lookups: AnswerLookupOutcome[] = [];
  const warnings: unknown[] = [];
  const logger = createLogger('test', 'silent');
  logger.warn = (obj: unknown) => void warnings.push(obj);
  const answers = new AnswerCache({
    store: answerStore,
    ttlSeconds: opts.ttlSeconds ?? 60,
    version: opts.version ?? catalogueVersion(CATALOGUE, 1000),
    logger,
    observeLookup: (o) => lookups.push(o),
  });
  const store = new MapStore();
  const context = { ...contextDeps(), store };
  const deps = depsFor(context, { answers });
  const pipeline = new AnswerPipeline(deps);
  const calls = () => models.gpt4.calls + models.llama4.calls;
  const askOnce = async (
    over: Partial<AskRequest> = {},
    o: { bypass?: boolean; tenant?: string } = {},
    budget: CallBudget = new Deadline(10_000),
  ) => {
    const out = await answerPrompt(
      pipeline,
      deps.preference,
      { prompt: 'Why is the sky blue?', strategy: 'both', contextKey: 'sky', ...over },
      'r',
      budget,
      {
        tenant: TENANT,
        ...o,
      },
    );
    await answerStore.settled();
    return out;
  };
  const chatOnce = async (over: Partial<ChatRequest> = {}, o: { bypass?: boolean; tenant?: string } = {}) => {
    const b = new Deadline(10_000);
    const { tenant = TENANT, ...cacheOpts } = o;
    const question = chatQuestion(
      { model: 'auto', messages: [{ role: 'user', content: 'Why is the sky blue?' }], context_key: 'sky', ...over },
      deps,
      undefined,
    );
    const out = await pipeline.answer(question, b, { tenant, ...cacheOpts });
    await answerStore.settled();
    return out;
  };
  return { models, store, answerStore, lookups, warnings, askOnce, chatOnce, calls, shutdown };
}

describe('answer cache on /v1/prompt', () => {
  let s: ReturnType<typeof setup>;
  beforeEach(() => {
    s = setup();
    s.store.data.set(inTenant('sky'), 'Rayleigh scattering.');
  });
  afterEach(() => s.shutdown());

  test('when the same question is asked twice, then the second is a hit that calls no model', async () => {
    const first = await s.askOnce();
    expect(first.cache).toBe('miss');
    const before = s.calls();
    const second = await s.askOnce();
    expect(second).toMatchObject({
      cache: 'hit',
      answer: first.answer,
      answeredBy: 'gpt4',
      degraded: false,
      requestId: 'r',
      context: { key: 'sky' },
    });
    expect(s.calls()).toBe(before);
    expect(s.answerStore.data.size).toBe(1);
    expect([...s.answerStore.data.values()][0]!.ttlSeconds).toBe(60);
  });

  test.each<[string, Partial<AskRequest>]>([
    ['another strategy', { strategy: 'primary' }],
    ['another maxTokens', { maxTokens: 7 }],
    ['another question', { prompt: 'Why is the sky BLUE?' }],
    ['only whitespace', { prompt: 'Why is  the sky blue?' }],
  ])('when the request differs by %s, then it misses', async (_what, over) => {
    await s.askOnce();
    expect((await s.askOnce(over)).cache).toBe('miss');
  });

  test('when the caller bypasses (header or body flag), then the cache is neither read nor written', async () => {
    const a = await s.askOnce({}, { bypass: true });
    const b = await s.askOnce({ cache: false });
    expect([a.cache, b.cache]).toEqual(['bypass', 'bypass']);
    expect(s.answerStore.gets).toBe(0);
    expect(s.answerStore.data.size).toBe(0);
  });

  test('when a model fails (degraded answer), then the answer is not cached', async () => {
    s.models.llama4.mode = 'fail';
    const out = await s.askOnce();
    expect(out).toMatchObject({ degraded: true, cache: 'miss' });
    expect(s.answerStore.data.size).toBe(0);
  });

  test('when the context store fails, then the cache is bypassed (the key would not know the context)', async () => {
    s.store.failing = true;
    const out = await s.askOnce({ contextKey: 'unknown-key' });
    expect(out).toMatchObject({ degraded: true, cache: 'bypass' });
    expect(s.answerStore.gets).toBe(0);
    expect(s.answerStore.data.size).toBe(0);
  });

  test('when the cache read fails, then the request still answers (a miss), warns with a key hash and counts an error', async () => {
    s.answerStore.mode = 'get';
    const out = await s.askOnce();
    expect(out).toMatchObject({ cache: 'miss', degraded: false });
    expect(s.lookups).toEqual(['error']);
    expect(s.warnings[0]).toMatchObject<Record<string, unknown>>({
      op: 'get',
      keyHash: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
    expect(JSON.stringify(s.warnings)).not.toContain('sky blue');
  });

  test('when the cache write fails, then the answer is still returned and the failure is logged', async () => {
    s.answerStore.mode = 'set';
    const out = await s.askOnce();
    expect(out.cache).toBe('miss');
    expect(s.warnings[0]).toMatchObject<Record<string, unknown>>({ op: 'set', keyHash: expect.any(String) });
  });

  test('when the cache read hangs, then the request deadline bounds it', async () => {
    s.answerStore.mode = 'hang';
    const controller = new AbortController(); // the request's deadline, firing after 50 ms
    setTimeout(() => controller.abort(), 50);
    const t0 = Date.now();
    const out = await s.askOnce({}, {}, { signal: controller.signal, remainingMs: () => 0 }).catch((e: Error) => e);
    expect(Date.now() - t0).toBeLessThan(1000); // not held by the hanging cache
    expect(s.lookups).toEqual(['error']); // the lookup ended with the request's signal: a miss, logged
    expect(out).toBeInstanceOf(Error); // and the spent budget ends the request as a deadline, not a cache error
    expect((out as Error).name).toBe('DeadlineExceeded');
  });

  test('when TTL is 0, then the cache is off: bypass, nothing read or written', async () => {
    const off = setup({ ttlSeconds: 0 });
    off.store.data.set(inTenant('sky'), 'x');
    expect((await off.askOnce()).cache).toBe('bypass');
    expect((await off.askOnce()).cache).toBe('bypass');
    expect(off.answerStore.gets).toBe(0);
    expect(off.calls()).toBe(4);
    off.shutdown();
  });
});

describe('answer cache keys', () => {
  test('when the context content changes, the key changes; when the catalogue changes, every key changes', async () => {
    const a = setup();
    a.store.data.set(inTenant('sky'), 'one');
    await a.askOnce();
    const keyOne = [...a.answerStore.data.keys()][0];
    // Same context key, new content through a fresh context cache: a different entry.
    const b = setup();
    b.store.data.set(inTenant('sky'), 'two');
    await b.askOnce();
    expect([...b.answerStore.data.keys()][0]).not.toBe(keyOne);
    // Same content, another model target: a different entry.
    const c = setup({
      version: catalogueVersion(
        [CATALOGUE[0]!, { ...CATALOGUE[1]!, target: 'meta.llama4-scout-17b-instruct-v1:0' }],
        1000,
      ),
    });
    c.store.data.set(inTenant('sky'), 'one');
    await c.askOnce();
    expect([...c.answerStore.data.keys()][0]).not.toBe(keyOne);
    // Same everything: the same entry.
    const d = setup();
    d.store.data.set(inTenant('sky'), 'one');
    await d.askOnce();
    expect([...d.answerStore.data.keys()][0]).toBe(keyOne);
    [a, b, c, d].forEach((x) => x.shutdown());
  });

  test('when the question differs only by a character NFKC would fold (2³ vs 23), then the keys differ', async () => {
    const k = setup();
    k.store.data.set(inTenant('sky'), 'one');
    await k.askOnce({ prompt: 'Is 2³ = 8?' });
    expect((await k.askOnce({ prompt: 'Is 23 = 8?' })).cache).toBe('miss');
    expect(k.answerStore.data.size).toBe(2);
    k.shutdown();
  });

  test('when two code snippets differ only in indentation, then the keys differ (prompt and chat)', async () => {
    const k = setup();
    k.store.data.set(inTenant('sky'), 'one');
    const snippet = (indent: string) => `What does this print?\nif True:\n${indent}print(1)\nprint(2)`;
    await k.askOnce({ prompt: snippet('    ') });
    expect((await k.askOnce({ prompt: snippet('        ') })).cache).toBe('miss');
    const user = (content: string): ChatMessage[] => [{ role: 'user', content }];
    await k.chatOnce({ messages: user(snippet('    ')) });
    expect((await k.chatOnce({ messages: user(snippet('        ')) })).cache).toBe('miss');
    expect((await k.chatOnce({ messages: user(snippet('    ')) })).cache).toBe('hit');
    k.shutdown();
  });

  test('when another tenant asks the same question over the same context text, then it misses: its entries are its own', async () => {
    const k = setup();
    k.store.data.set(inTenant('sky'), 'one');
    k.store.data.set('other::sky', 'one');
    await k.askOnce();
    expect((await k.askOnce()).cache).toBe('hit');
    expect((await k.askOnce({}, { tenant: 'other' })).cache).toBe('miss');
    await k.chatOnce();
    expect((await k.chatOnce({}, { tenant: 'other' })).cache).toBe('miss');
    const keys = [...k.answerStore.data.keys()];
    expect(keys.filter((key) => key.startsWith(`${TENANT}::`))).toHaveLength(2);
    expect(keys.filter((key) => key.startsWith('other::'))).toHaveLength(2);
    k.shutdown();
  });

  test.each([
    ['no-cache', true],
    ['max-age=0, no-cache', true],
    ['no-store', true],
    ['max-age=60', false],
    [undefined, false],
  ])('Cache-Control %s → bypass %s', (value, expected) => {
    expect(noCacheRequested(value)).toBe(expected);
  });
});

describe('answer cache on chat completions', () => {
  let s: ReturnType<typeof setup>;
  beforeEach(() => {
    s = setup();
    s.store.data.set(inTenant('sky'), 'Rayleigh scattering.');
  });
  afterEach(() => s.shutdown());

  test('when the same chat is sent twice, then the second is a hit that calls no model', async () => {
    const first = await s.chatOnce();
    expect(first.cache).toBe('miss');
    const before = s.calls();
    const second = await s.chatOnce();
    expect(second).toMatchObject({ cache: 'hit', answeredBy: first.answeredBy, outcome: { text: first.outcome.text } });
    expect(s.calls()).toBe(before);
  });

  test.each<[string, Partial<ChatRequest>]>([
    ['temperature', { temperature: 0.2 }],
    ['top_p', { top_p: 0.5 }],
    ['stop', { stop: ['x'] }],
    ['max_tokens', { max_tokens: 9 }],
    ['model', { model: 'llama4' }],
    [
      'a system message',
      {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Why is the sky blue?' },
        ],
      },
    ],
    [
      'history',
      {
        messages: [
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'hello' },
          { role: 'user', content: 'Why is the sky blue?' },
        ],
      },
    ],
  ])('when %s differs, then it misses', async (_what, over) => {
    await s.chatOnce();
    expect((await s.chatOnce(over)).cache).toBe('miss');
  });

  test('when Cache-Control: no-cache, then bypass; a degraded answer is not cached', async () => {
    expect((await s.chatOnce({}, { bypass: true })).cache).toBe('bypass');
    expect(s.answerStore.data.size).toBe(0);
    s.models.gpt4.mode = 'fail';
    expect((await s.chatOnce({ model: 'both' })).cache).toBe('miss');
    expect(s.answerStore.data.size).toBe(0);
  });
});
