/** The answer pipeline through the chat route's translation: routing, conversations, whole and streamed answers. */
import type { ModelOutcome } from '@context-qa/common/contract';
import { Deadline } from '@context-qa/common/deadline';
import type { ChatRequest } from '@context-qa/common/openai';
import { AnswerPipeline } from '../src/domain/answer/pipeline';
import type { AnswerSink } from '../src/domain/answer/question';
import { UnknownModel, UnsupportedRouting } from '../src/domain/outcomes';
import type { GenerateRequest, Models } from '../src/domain/ports';
import { routeFor } from '../src/domain/routing';
import { chatQuestion } from '../src/entry-points/chat';
import { contextDeps, guardedModels, inTenant, TENANT } from './fakes';

function setup() {
  const { models, deps: depsFor, shutdown } = guardedModels();
  const context = contextDeps();
  const deps = depsFor(context);
  const pipeline = new AnswerPipeline(deps);
  const request = (over: Partial<ChatRequest> = {}): ChatRequest => ({
    model: 'auto',
    messages: [{ role: 'user', content: 'Why?' }],
    ...over,
  });
  const chat = (req: ChatRequest, b: Deadline, contextKey?: string) =>
    pipeline.answer(chatQuestion(req, deps, contextKey), b, { tenant: TENANT });
  /** Records what a caller would see of a stream. */
  const sink = () => {
    const seen = {
      model: '',
      text: '',
      ended: undefined as ModelOutcome | undefined,
      failed: undefined as ModelOutcome | undefined,
    };
    const s: AnswerSink = {
      start: (m) => void (seen.model = m),
      delta: (t) => void (seen.text += t),
      end: (o) => void (seen.ended = o),
      fail: (o) => void (seen.failed = o),
    };
    return { s, seen };
  };
  const stream = async (over: Partial<ChatRequest>) => {
    const b = new Deadline(10_000);
    const { s, seen } = sink();
    const out = await pipeline.answer(chatQuestion(request({ ...over, stream: true }), deps, undefined), b, {
      tenant: TENANT,
      sink: s,
    });
    return { out, seen };
  };
  return { models, deps, request, chat, stream, context, shutdown };
}

describe('answering a chat', () => {
  let s: ReturnType<typeof setup>;
  beforeEach(() => (s = setup()));
  afterEach(() => s.shutdown());

  test('when the model is a concrete one or an alias, then routing follows the configuration', () => {
    expect(routeFor('llama4', s.deps)).toEqual({ order: ['llama4'], strategy: 'primary' });
    expect(routeFor('auto', s.deps)).toEqual({ order: ['gpt4', 'llama4'], strategy: 'primary' });
    expect(routeFor('fastest', s.deps)).toEqual({ order: ['gpt4', 'llama4'], strategy: 'fastest' });
    expect(() => routeFor('gpt-5', s.deps)).toThrow(UnknownModel);
    for (const inherited of ['constructor', 'toString', '__proto__'])
      expect(() => routeFor(inherited, s.deps)).toThrow(UnknownModel);
  });

  test('when asked to stream with both, then it is refused before any model is called', async () => {
    await expect(s.stream({ model: 'both' })).rejects.toBeInstanceOf(UnsupportedRouting);
    expect(s.models.gpt4.calls + s.models.llama4.calls).toBe(0);
  });

  test('when a conversation has system messages and earlier turns, then the prompt keeps them apart from the question and context', async () => {
    s.context.store.data.set(inTenant('topic'), 'CTX');
    const seen: GenerateRequest[] = [];
    const recording: Models = {
      run: (m, r, b, o) => (seen.push(r), s.deps.models.run(m, r, b, o)),
      stream: (m, r, b, o) => s.deps.models.stream(m, r, b, o),
    };
    const answer = await new AnswerPipeline({ ...s.deps, models: recording }).answer(
      chatQuestion(
        s.request({
          messages: [
            { role: 'system', content: 'Be brief.' },
            { role: 'user', content: 'Hi' },
            { role: 'assistant', content: 'Hello' },
            { role: 'user', content: [{ type: 'text', text: 'Why?' }] },
          ],
          max_tokens: 7,
          stop: 'END',
        }),
        s.deps,
        'topic',
      ),
      new Deadline(1000),
      { tenant: TENANT },
    );
    const generate = seen[0]!;
    expect(generate.system).toMatch(/Instructions from the application:\nBe brief\.$/);
    expect(generate.history).toEqual([
      { role: 'user', text: 'Hi' },
      { role: 'assistant', text: 'Hello' },
    ]);
    expect(generate.user).toMatch(/CTX[\s\S]*Question: Why\?$/);
    expect(generate).toMatchObject({ maxTokens: 7, stop: ['END'] });
    expect(answer.context).toMatchObject({ source: 'dynamodb', key: 'topic' });
  });

  test('when not streaming, then the first model of the route that answers is the answer', async () => {
    s.models.gpt4.mode = 'fail';
    const b = new Deadline(1000);
    const out = await s.chat(s.request(), b);
    expect(out.answeredBy).toBe('llama4');
    expect(out.degraded).toBe(true); // the prompt route's rule: a failed model degrades the answer
    expect(out.outcome).toMatchObject<Record<string, unknown>>({
      status: 'ok',
      finishReason: 'stop',
      text: expect.stringContaining('llama4 says'),
    });
  });

  test('when the primary fails before its first token, then the next model streams and the caller never sees the failure', async () => {
    s.models.gpt4.mode = 'fail';
    const { out, seen } = await s.stream({ model: 'primary' });
    expect(out.answeredBy).toBe('llama4');
    expect(out.degraded).toBe(true);
    expect(seen).toMatchObject({ model: 'llama4', failed: undefined, ended: { status: 'ok' } });
    expect(seen.text).toBe(seen.ended!.text);
  });

  test('when the primary stalls before its first token, then after the idle timeout the next model answers', async () => {
    s.models.gpt4.mode = 'hang';
    const { out, seen } = await s.stream({ model: 'primary' });
    expect(out.answeredBy).toBe('llama4');
    expect(out.models.gpt4).toMatchObject({ code: 'timeout' });
    expect(seen.text).toContain('llama4 says');
  });

  test('when the answering model fails after its first token, then the stream ends in a failure, not a quiet end', async () => {
    s.models.gpt4.failAfterWords = 2;
    const { seen } = await s.stream({ model: 'primary' });
    expect(seen.model).toBe('gpt4');
    expect(seen.text.length).toBeGreaterThan(0);
    expect(seen.ended).toBeUndefined();
    expect(seen.failed).toMatchObject({ code: 'upstream_error' });
    expect(s.models.llama4.calls).toBe(0);
  });

  test('when fastest streams, then the first model to produce a token wins and only its tokens reach the caller', async () => {
    s.models.gpt4.delayMs = 200;
    const { out, seen } = await s.stream({ model: 'fastest' });
    expect(out.answeredBy).toBe('llama4');
    expect(seen.text).toMatch(/^llama4 says/);
    expect(seen.text).not.toContain('gpt4');
  });

  test('when both models answered recently and fastest streams, then the winner is not stopped by its own win', async () => {
    const b = new Deadline(1000);
    await s.chat(s.request({ model: 'both' }), b); // both proven now
    s.models.gpt4.delayMs = 200;
    const { out, seen } = await s.stream({ model: 'fastest' });
    expect(out.answeredBy).toBe('llama4');
    expect(seen.failed).toBeUndefined();
    expect(seen.ended).toMatchObject({ status: 'ok' });
    expect(seen.text).toBe(seen.ended!.text);
    expect(s.models.gpt4.aborted).toBe(1); // the loser, proven too, was stopped
  });

  test('when every model fails before a token, then nothing is started and the caller gets an error', async () => {
    s.models.gpt4.mode = 'fail';
    s.models.llama4.mode = 'fail';
    await expect(s.stream({ model: 'fastest' })).rejects.toMatchObject({ name: 'NoModelAnswered' });
  });
});
