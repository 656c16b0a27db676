import type { ModelErrorCode } from '@context-qa/common/contract';
import { Deadline } from '@context-qa/common/deadline';
import type CircuitBreaker from 'opossum';
import { GuardedModel, type BreakerState } from '../src/adapters/models/guarded';
import { ModelError, type GenerateResult, type StreamEvent } from '../src/domain/ports';
import { FakeModel } from './fakes';

const req = { system: 's', user: 'u', maxTokens: 10 };
const budget = () => new Deadline(60_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A model whose stream sends one token, then waits for `finish()`: to end, or to fail mid-stream. */
class HeldStream extends FakeModel {
  private release?: (fail: boolean) => void;
  finish(fail = false) {
    this.release?.(fail);
  }
  override async *stream(): AsyncIterable<StreamEvent> {
    this.calls++;
    yield { type: 'delta', text: 'first ' };
    if (await new Promise<boolean>((r) => (this.release = r)))
      throw new ModelError('upstream_error', 'dropped mid-stream');
    yield { type: 'delta', text: 'rest' };
    yield { type: 'end', finishReason: 'stop' };
  }
}

/** A stuck SDK call: never answers and ignores its signal (a stream: after its first token); `mode: 'fail'` still fails at once. */
class DeafModel extends FakeModel {
  /** Ends the stuck calls late, with a rejection nobody waits for any more. */
  private readonly late: Array<() => void> = [];
  failLate() {
    this.late.splice(0).forEach((fail) => fail());
  }
  override generate(): Promise<GenerateResult> {
    this.calls++;
    if (this.mode === 'fail') return Promise.reject(new ModelError('upstream_error', 'boom'));
    return new Promise((_resolve, reject) => this.late.push(() => reject(new ModelError('upstream_error', 'late'))));
  }
  override async *stream(): AsyncIterable<StreamEvent> {
    this.calls++;
    yield { type: 'delta', text: 'one ' };
    await new Promise(() => {});
  }
}

describe('GuardedModel (bulkhead and Opossum breaker around one bounded attempt)', () => {
  const guards: GuardedModel[] = [];
  const make = (model: FakeModel, over: Partial<ConstructorParameters<typeof GuardedModel>[1]> = {}) => {
    const states: BreakerState[] = [];
    const failures: ModelErrorCode[] = [];
    const g = new GuardedModel(
      model,
      {
        timeoutMs: 200,
        errorThresholdPercentage: 50,
        resetTimeoutMs: 300,
        volumeThreshold: 3,
        rollingCountTimeoutMs: 10_000,
        maxInFlight: 10,
        ...over,
      },
      { call: () => {}, breaker: (_m, s) => states.push(s), failure: (_m, code) => failures.push(code) },
    );
    guards.push(g);
    return { g, states, failures };
  };
  /** Waits for Opossum's reset timer: the breaker is half-open once it has fired. */
  const halfOpen = async (g: GuardedModel) => {
    while (g.state !== 'half_open') await sleep(20);
  };
  /** Opens `g`'s breaker with one failure (volumeThreshold 1), then waits for half-open with the model in `mode`. */
  const openThenHalfOpen = async (model: FakeModel, g: GuardedModel, mode: FakeModel['mode'] = 'ok') => {
    model.mode = 'fail';
    await g.run(req, budget());
    expect(g.state).toBe('open');
    model.mode = mode;
    await halfOpen(g);
  };
  const streamOpts = (over: { lostRace?: AbortSignal; onDelta?: (t: string) => void } = {}) => ({
    idleMs: 1000,
    onDelta: () => {},
    ...over,
  });
  afterAll(() => guards.forEach((g) => g.shutdown()));

  test('when the model hangs, then the deadline aborts the call itself and reports timeout', async () => {
    const model = new FakeModel('gpt4');
    model.mode = 'hang';
    const { g } = make(model);
    const out = await g.run(req, budget());
    expect(out).toMatchObject({ status: 'timeout', code: 'timeout' });
    expect(model.aborted).toBe(1);
  });

  test('when failures pass the threshold, then the breaker opens, fails fast without calling, and closes after a good trial', async () => {
    const model = new FakeModel('gpt4');
    model.mode = 'fail';
    const { g, states } = make(model);
    for (let i = 0; i < 3; i++) expect((await g.run(req, budget())).code).toBe('upstream_error');
    expect(g.state).toBe('open');
    const callsWhenOpened = model.calls;
    expect((await g.run(req, budget())).code).toBe('circuit_open');
    expect(model.calls).toBe(callsWhenOpened);

    model.mode = 'ok';
    await sleep(350); // resetTimeout passes → half-open
    expect((await g.run(req, budget())).status).toBe('ok');
    expect(g.state).toBe('closed');
    expect(states).toEqual(['closed', 'open', 'half_open', 'closed']);
  });

  test('when the caller cancels, then the call counts as neither success nor failure', async () => {
    const model = new FakeModel('llama4');
    model.mode = 'hang';
    const { g } = make(model, { volumeThreshold: 1 });
    for (let i = 0; i < 3; i++) {
      const b = budget();
      const p = g.run(req, b);
      b.stop('client_gone');
      expect(await p).toMatchObject({ status: 'skipped', code: 'cancelled' });
    }
    expect(g.state).toBe('closed');
    expect(g.stats).toEqual({ fires: 0, successes: 0, failures: 0 });
  });

  test('when the half-open trial is cancelled by its caller, then the breaker does not close: the trial runs on, and a hanging model times out', async () => {
    const model = new FakeModel('gpt4');
    const { g, failures } = make(model, { volumeThreshold: 1 });
    await openThenHalfOpen(model, g, 'hang');
    const b = budget();
    const trial = g.run(req, b);
    b.stop('client_gone');
    expect((await trial).code).toBe('cancelled'); // the caller stops waiting at once
    expect(g.state).toBe('half_open'); // never closed by a cancellation (a filtered error is a "success" to Opossum)
    await g.settle();
    expect(failures).toEqual(['upstream_error', 'timeout']); // only a real outcome decides: the trial's own deadline
    expect(g.state).toBe('open');
  });

  test("when a half-open trial's caller leaves, then the trial runs on to its verdict: a healthy model's breaker closes", async () => {
    const model = new FakeModel('gpt4');
    const { g } = make(model, { volumeThreshold: 1 });
    await openThenHalfOpen(model, g);
    model.delayMs = 50;
    const b = budget();
    const trial = g.run(req, b);
    b.stop('client_gone');
    expect(await trial).toMatchObject({ status: 'skipped', code: 'cancelled' }); // the caller's outcome, as before
    expect(g.state).toBe('half_open'); // the trial still runs...
    expect((await g.run(req, budget())).code).toBe('circuit_open'); // ...as the only one
    await g.settle();
    expect(model.aborted).toBe(0); // before: aborted with its caller
    expect(g.state).toBe('closed'); // before: inconclusive, re-opened for another reset period
  });

  test("when a streamed half-open trial's caller leaves before its first token, then that token still closes the breaker and the stream stops there", async () => {
    const model = new FakeModel('gpt4');
    const { g } = make(model, { volumeThreshold: 1 });
    await openThenHalfOpen(model, g);
    model.delayMs = 50;
    const deltas: string[] = [];
    const b = budget();
    const trial = g.runStream(req, b, streamOpts({ onDelta: (t) => deltas.push(t) }));
    b.stop('client_gone');
    expect((await trial).code).toBe('cancelled');
    await g.settle();
    expect(g.state).toBe('closed'); // before: re-opened
    expect(deltas).toEqual([]); // nothing for a caller who has gone
    expect(g.stats).toEqual({ fires: 2, successes: 1, failures: 1 }); // the failure that opened it; the trial cut after its first token
  });

  test('when a streamed half-open trial sends its first token, then the breaker closes at once and other calls run while the stream goes on', async () => {
    const model = new HeldStream('gpt4');
    const { g, states } = make(model, { volumeThreshold: 1 });
    await openThenHalfOpen(model, g);
    let firstToken!: () => void;
    const tokened = new Promise<void>((r) => (firstToken = r));
    const trial = g.runStream(req, budget(), streamOpts({ onDelta: () => firstToken() }));
    await tokened;
    expect(g.state).toBe('closed'); // before: half-open until the stream's end
    expect((await g.run(req, budget())).status).toBe('ok'); // before: circuit_open
    model.finish();
    expect((await trial).status).toBe('ok');
    expect(g.stats).toEqual({ fires: 3, successes: 2, failures: 1 }); // the stream's end is its one verdict: no second success
    expect(states).toEqual(['closed', 'open', 'half_open', 'closed']);
  });

  test('when a streamed trial fails after its first token closed the breaker, then that failure is judged as any closed-state call', async () => {
    const model = new HeldStream('gpt4');
    const { g, states, failures } = make(model, { volumeThreshold: 1 });
    await openThenHalfOpen(model, g);
    let firstToken!: () => void;
    const tokened = new Promise<void>((r) => (firstToken = r));
    const trial = g.runStream(req, budget(), streamOpts({ onDelta: () => firstToken() }));
    await tokened;
    expect(g.state).toBe('closed');
    model.finish(true);
    expect((await trial).code).toBe('upstream_error');
    expect(failures).toEqual(['upstream_error', 'upstream_error']);
    expect(g.stats).toEqual({ fires: 2, successes: 0, failures: 2 }); // one fire, one verdict
    expect(states).toEqual(['closed', 'open', 'half_open', 'closed', 'open']); // 2 of 2 in the window failed: over the threshold
  });

  test('when the provider ignores its signal, then the model deadline still ends the call as a timeout, and its late rejection goes nowhere', async () => {
    const model = new DeafModel('gpt4');
    const { g, failures } = make(model, { volumeThreshold: 5 });
    expect(await g.run(req, budget())).toMatchObject({ status: 'timeout', code: 'timeout' }); // before: never settled
    expect(failures).toEqual(['timeout']);
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    model.failLate(); // the orphaned call rejects after all
    await sleep(0); // Node reports unhandled rejections once the microtasks have run
    process.off('unhandledRejection', unhandled);
    expect(unhandled).not.toHaveBeenCalled();
  });

  test('when the provider ignores its signal and the caller leaves, then the call ends at once as cancelled and counts for nothing', async () => {
    const model = new DeafModel('gpt4');
    const { g } = make(model, { volumeThreshold: 1, timeoutMs: 60_000 });
    const b = budget();
    const p = g.run(req, b);
    b.stop('client_gone');
    expect((await p).code).toBe('cancelled');
    expect(g.stats).toEqual({ fires: 0, successes: 0, failures: 0 });
  });

  test('when a half-open trial hits a provider that ignores its signal, then it still ends at its deadline and re-opens the breaker', async () => {
    const model = new DeafModel('gpt4');
    const { g } = make(model, { volumeThreshold: 1 });
    await openThenHalfOpen(model, g);
    expect((await g.run(req, budget())).code).toBe('timeout'); // before: the trial never ended, every later call circuit_open forever
    expect(g.state).toBe('open');
    await halfOpen(g);
    model.mode = 'fail';
    expect((await g.run(req, budget())).code).toBe('upstream_error'); // a next trial was let through
  });

  test('when a stream stalls in a provider that ignores its signal, then the idle timeout still ends it', async () => {
    const model = new DeafModel('llama4');
    const { g } = make(model);
    expect(await g.runStream(req, budget(), { ...streamOpts(), idleMs: 100 })).toMatchObject({
      status: 'timeout',
      code: 'timeout',
    });
  });

  test('when our own request is rejected as bad, then the breaker ignores it', async () => {
    const model = new FakeModel('gpt4');
    model.failWith = new ModelError('bad_request', 'ValidationException');
    const { g } = make(model, { volumeThreshold: 1 });
    for (let i = 0; i < 3; i++) expect((await g.run(req, budget())).code).toBe('bad_request');
    expect(g.state).toBe('closed');
    expect(g.stats).toEqual({ fires: 0, successes: 0, failures: 0 });
  });

  test('when a model that never answered loses a race, then it runs on to its deadline so a hang opens the breaker', async () => {
    const model = new FakeModel('llama4');
    model.mode = 'hang';
    const { g } = make(model, { volumeThreshold: 2 });
    for (let i = 0; i < 2; i++) {
      const lost = new AbortController();
      const p = g.run(req, budget(), { lostRace: lost.signal });
      lost.abort(); // the other model answered first
      expect((await p).code).toBe('timeout');
    }
    expect(g.state).toBe('open');
  });

  test('when a proven model loses a race, then its call is stopped and counts for nothing', async () => {
    const model = new FakeModel('llama4');
    const { g } = make(model);
    expect((await g.run(req, budget())).status).toBe('ok');
    model.delayMs = 5_000;
    const lost = new AbortController();
    const p = g.run(req, budget(), { lostRace: lost.signal });
    lost.abort();
    expect((await p).code).toBe('cancelled');
    expect(model.aborted).toBe(1);
    expect(g.stats).toEqual({ fires: 1, successes: 1, failures: 0 });
  });

  test('when calls in flight reach the bulkhead, then the next is refused at once without calling the model', async () => {
    const model = new FakeModel('gpt4');
    model.delayMs = 100;
    const { g } = make(model, { maxInFlight: 2 });
    const running = [g.run(req, budget()), g.run(req, budget())];
    expect(await g.run(req, budget())).toMatchObject({ status: 'skipped', code: 'overloaded' });
    expect(model.calls).toBe(2);
    expect((await Promise.all(running)).map((o) => o.status)).toEqual(['ok', 'ok']);
    expect(g.state).toBe('closed');
  });

  test("when the request budget is shorter than the model deadline, then running out of it is not the model's failure", async () => {
    const model = new FakeModel('gpt4');
    model.mode = 'hang';
    const { g } = make(model, { volumeThreshold: 1 });
    expect((await g.run(req, new Deadline(50))).code).toBe('cancelled');
    expect(g.state).toBe('closed');
  });

  test('when a neutral call spans bucket rotations, then it is taken out of the bucket that counted it', async () => {
    const model = new FakeModel('llama4');
    const { g } = make(model, { rollingCountTimeoutMs: 2000, timeoutMs: 5000 }); // 10 buckets of 200 ms
    expect((await g.run(req, budget())).status).toBe('ok');
    model.mode = 'hang';
    const b = budget();
    const p = g.run(req, b);
    await sleep(450); // two rotations later
    b.stop('client_gone');
    expect((await p).code).toBe('cancelled');
    expect(g.stats).toEqual({ fires: 1, successes: 1, failures: 0 });
  });

  test('when a half-open trial could not reach the model deadline within the budget, then it is not fired', async () => {
    const model = new FakeModel('gpt4');
    model.mode = 'fail';
    const { g } = make(model, { volumeThreshold: 1 });
    await g.run(req, budget());
    await sleep(350);
    expect(g.state).toBe('half_open');
    const calls = model.calls;
    expect((await g.run(req, new Deadline(100))).code).toBe('circuit_open'); // 100 ms < the 200 ms model deadline
    expect(model.calls).toBe(calls);
    expect(g.state).toBe('half_open'); // still waiting for a trial that can decide
  });

  test('when a half-open trial has streamed tokens and its caller goes, then its first token was its success: the breaker closes', async () => {
    const model = new FakeModel('gpt4');
    const { g } = make(model, { volumeThreshold: 1 });
    await openThenHalfOpen(model, g);
    const b = budget();
    const out = await g.runStream(req, b, streamOpts({ onDelta: () => b.stop('client_gone') })); // gone after the first token
    expect(out.code).toBe('cancelled'); // the caller still learns the stream was cut, never a quiet end
    expect(g.state).toBe('closed'); // before: an inconclusive trial, re-opened for another reset period
  });

  test('when a half-open trial is running, then a second call is refused by us, without reaching Opossum or counting a failure', async () => {
    const model = new FakeModel('gpt4');
    const { g, failures } = make(model, { volumeThreshold: 1 });
    await openThenHalfOpen(model, g);
    model.delayMs = 100;
    const firesBefore = g.stats.fires;
    const [trial, second] = await Promise.all([g.run(req, budget()), g.run(req, budget())]);
    expect(trial.status).toBe('ok');
    expect(second).toMatchObject({ status: 'circuit_open', code: 'circuit_open' });
    expect(model.calls).toBe(2); // the failure that opened it, and the trial
    expect(g.stats.fires).toBe(firesBefore + 1); // before: Opossum counted the second fire, then rejected it
    expect(failures).toEqual(['upstream_error']); // before: also a circuit_open "failure" (a failed model span)
    expect(g.state).toBe('closed');
  });

  test('when a stream of unknown health loses the race, then it is stopped at its first token and counts as a success', async () => {
    const model = new FakeModel('llama4');
    model.delayMs = 20;
    const { g } = make(model);
    const lost = new AbortController();
    lost.abort(); // the other model's first token came first
    const deltas: string[] = [];
    const out = await g.runStream(req, budget(), streamOpts({ lostRace: lost.signal, onDelta: (t) => deltas.push(t) }));
    expect(out).toMatchObject({ status: 'skipped', code: 'not_needed' }); // before: it ran on to its end ('ok')
    expect(deltas).toEqual([]); // nothing of a loser reaches the caller
    expect(g.stats).toEqual({ fires: 1, successes: 1, failures: 0 });
  });

  test("when the response has ended (its budget's timer cleared), then a call still running ends with its request's budget", async () => {
    const model = new FakeModel('llama4');
    model.mode = 'hang';
    const { g } = make(model, { volumeThreshold: 1, timeoutMs: 2000 });
    const b = new Deadline(100);
    const p = g.run(req, b);
    b.done(); // what the response's 'finish' does: a race loser runs on in the background
    expect((await p).code).toBe('cancelled'); // neutral, and not later than its request would have ended
    expect(model.aborted).toBe(1);
    expect(g.state).toBe('closed');
  });

  test("when calls are judged, then Opossum's rolling percentiles are off (no sort of every latency in the window)", async () => {
    const model = new FakeModel('gpt4');
    const { g } = make(model);
    await g.run(req, budget());
    const breaker = (g as unknown as { breaker: CircuitBreaker }).breaker;
    expect(breaker.stats.latencyMean).toBe(-1); // Opossum's value when rollingPercentilesEnabled is false
    // `options` is Opossum's own (not in @types/opossum).
    expect((breaker as unknown as { options: object }).options).toMatchObject({
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
    });
  });
});
