import { GuardedModel, type BreakerState } from '../src/adapters/models/guarded';
import { FakeModel } from './fakes';

const req = { system: 's', user: 'u', maxTokens: 10 };
const never = new AbortController().signal;

describe('GuardedModel (Opossum breaker around one bounded attempt)', () => {
  const guards: GuardedModel[] = [];
  const make = (model: FakeModel, over: Partial<ConstructorParameters<typeof GuardedModel>[1]> = {}) => {
    const states: BreakerState[] = [];
    const g = new GuardedModel(
      model,
      { timeoutMs: 200, errorThresholdPercentage: 50, resetTimeoutMs: 300, volumeThreshold: 3, rollingCountTimeoutMs: 10_000, ...over },
      { call: () => {}, breaker: (_m, s) => states.push(s) },
    );
    guards.push(g);
    return { g, states };
  };
  afterAll(() => guards.forEach((g) => g.shutdown()));

  test('when the model hangs, then the deadline aborts the call itself and reports timeout', async () => {
    const model = new FakeModel('gpt4');
    model.mode = 'hang';
    const { g } = make(model);
    const out = await g.run(req, never);
    expect(out.status).toBe('timeout');
    expect(model.aborted).toBe(1);
  });

  test('when failures pass the threshold, then the breaker opens, fails fast without calling, and closes after a good trial', async () => {
    const model = new FakeModel('gpt4');
    model.mode = 'fail';
    const { g, states } = make(model);
    for (let i = 0; i < 3; i++) expect((await g.run(req, never)).status).toBe('error');
    expect(g.state).toBe('open');
    const callsWhenOpened = model.calls;
    expect((await g.run(req, never)).status).toBe('circuit_open');
    expect(model.calls).toBe(callsWhenOpened);

    model.mode = 'ok';
    await new Promise((r) => setTimeout(r, 350)); // resetTimeout passes → half-open
    expect((await g.run(req, never)).status).toBe('ok');
    expect(g.state).toBe('closed');
    expect(states).toEqual(['closed', 'open', 'half_open', 'closed']);
  });

  test('when the caller cancels, then it is not counted against the model', async () => {
    const model = new FakeModel('llama4');
    model.mode = 'hang';
    const { g } = make(model, { volumeThreshold: 1 });
    for (let i = 0; i < 3; i++) {
      const ac = new AbortController();
      const p = g.run(req, ac.signal);
      ac.abort();
      expect((await p).status).toBe('skipped');
    }
    expect(g.state).toBe('closed');
  });
});
