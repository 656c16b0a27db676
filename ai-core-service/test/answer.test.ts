/** The answer pipeline through the prompt route's translation: strategies, fallback, deadlines. */
import { type AskRequest, STRATEGIES } from '@context-qa/common/contract';
import { Deadline, DeadlineExceeded } from '@context-qa/common/deadline';
import { AnswerPipeline } from '../src/domain/answer/pipeline';
import { NoModelAnswered } from '../src/domain/outcomes';
import { answerPrompt } from '../src/entry-points/prompt';
import { contextDeps, guardedModels, inTenant, MapStore, TENANT } from './fakes';

function setup() {
  const { models, deps: depsFor, shutdown } = guardedModels();
  const store = new MapStore();
  const deps = depsFor({ ...contextDeps(), store });
  const pipeline = new AnswerPipeline(deps);
  const prompt = (req: AskRequest, requestId: string, b: Deadline) =>
    answerPrompt(pipeline, deps.preference, req, requestId, b, { tenant: TENANT });
  const request = (over: Partial<AskRequest> = {}): AskRequest => ({ prompt: 'Why?', strategy: 'both', ...over });
  const budget = () => new Deadline(10_000);
  const run = (over: Partial<AskRequest> = {}, b = budget()) => prompt(request(over), 'r', b);
  return { models, store, prompt, request, run, shutdown };
}

describe('answering a prompt', () => {
  let s: ReturnType<typeof setup>;
  beforeEach(() => (s = setup()));
  afterEach(() => s.shutdown());

  test('when both models answer, then the preferred one is used, with context from the store', async () => {
    s.store.data.set(inTenant('topic'), 'CONTEXT-TEXT');
    const out = await s.prompt(s.request({ contextKey: 'topic' }), 'r1', new Deadline(10_000));
    expect(out).toMatchObject({
      requestId: 'r1',
      answeredBy: 'gpt4',
      degraded: false,
      context: { source: 'dynamodb', key: 'topic' },
    });
    expect(out.answer).toContain('CONTEXT-TEXT');
    expect(out.models.llama4?.status).toBe('ok');
  });

  test('when the preferred model fails, then the other answers and the answer is degraded', async () => {
    s.models.gpt4.mode = 'fail';
    const out = await s.run();
    expect(out).toMatchObject({ answeredBy: 'llama4', degraded: true });
    expect(out.models.gpt4).toMatchObject({
      status: 'error',
      code: 'upstream_error',
      error: 'the model provider failed',
    });
  });

  test('when both fail, then NoModelAnswered lists each status', async () => {
    s.models.gpt4.mode = 'fail';
    s.models.llama4.mode = 'fail';
    const err: unknown = await s.run().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoModelAnswered);
    expect((err as NoModelAnswered).models).toMatchObject({ gpt4: { status: 'error' }, llama4: { status: 'error' } });
  });

  test('when strategy is fastest, then the first success wins and the slower call is aborted', async () => {
    await s.run(); // both models have answered recently: their health is known
    s.models.gpt4.delayMs = 500;
    const out = await s.run({ strategy: 'fastest' });
    expect(out.answeredBy).toBe('llama4');
    expect(out.degraded).toBe(false);
    expect(out.models.gpt4).toMatchObject({ status: 'skipped', code: 'not_needed' });
    await new Promise((r) => setTimeout(r, 10));
    expect(s.models.gpt4.aborted).toBe(1);
  });

  test('when strategy is primary and it answers, then the other model is never called', async () => {
    const out = await s.run({ strategy: 'primary' });
    expect(out.answeredBy).toBe('gpt4');
    expect(out.models.llama4?.status).toBe('skipped');
    expect(s.models.llama4.calls).toBe(0);
  });

  test('when strategy is primary and it fails, then the other model is called', async () => {
    s.models.gpt4.mode = 'fail';
    const out = await s.run({ strategy: 'primary' });
    expect(out).toMatchObject({ answeredBy: 'llama4', degraded: true });
    expect(s.models.llama4.calls).toBe(1);
  });

  test('when strategy is sequential, then both models are called one after the other', async () => {
    s.models.gpt4.delayMs = 50;
    const out = await s.run({ strategy: 'sequential' });
    expect(out.answeredBy).toBe('gpt4');
    expect([s.models.gpt4.calls, s.models.llama4.calls]).toEqual([1, 1]);
    expect(out.models.llama4?.status).toBe('ok');
  });

  test('when the context store fails, then the answer comes without context, degraded', async () => {
    s.store.failing = true;
    const out = await s.run();
    expect(out).toMatchObject({ degraded: true, context: { source: 'none' } });
  });

  test.each(STRATEGIES)(
    'when the client goes away during %s, then every model call still running is aborted',
    async (strategy) => {
      s.models.gpt4.mode = 'hang';
      s.models.llama4.mode = 'hang';
      const b = new Deadline(10_000);
      const p = s.run({ strategy }, b);
      await new Promise((r) => setTimeout(r, 20));
      b.stop('client_gone');
      await expect(p).rejects.toBeInstanceOf(DeadlineExceeded);
      const calls = s.models.gpt4.calls + s.models.llama4.calls;
      expect(calls).toBeGreaterThan(0);
      expect(s.models.gpt4.aborted + s.models.llama4.aborted).toBe(calls);
    },
  );

  test('when the request budget runs out in sequential, then the second model is not called at all', async () => {
    s.models.gpt4.mode = 'hang';
    const err: unknown = await s.run({ strategy: 'sequential' }, new Deadline(100)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineExceeded);
    expect(((err as DeadlineExceeded).cause as NoModelAnswered).models).toMatchObject({
      gpt4: { code: 'cancelled' },
      llama4: { code: 'cancelled' },
    });
    expect(s.models.llama4.calls).toBe(0);
  });
});
