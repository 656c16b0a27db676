import { maxModelCalls, type ModelOutcome, STRATEGIES } from '@context-qa/common/contract';
import { notCalled, SpendMeter } from '../src/domain/spend';
import { STRATEGY_RUNNERS } from '../src/domain/strategies';
import type { GenerateRequest } from '../src/domain/ports';

const req: GenerateRequest = {
  system: 'system text',
  user: 'a question of forty characters, roughly.',
  maxTokens: 100,
};
const ok = (inputTokens: number, outputTokens: number): ModelOutcome => ({
  status: 'ok',
  text: 'x',
  latencyMs: 1,
  usage: { inputTokens, outputTokens },
});

describe('SpendMeter', () => {
  test('when calls settle, then each is charged its reported usage, summed per model', async () => {
    const meter = new SpendMeter();
    await meter.track('gpt4', req, Promise.resolve(ok(10, 5)));
    await meter.track('gpt4', req, Promise.resolve(ok(20, 7))); // fuse's synthesis on the same model
    await meter.track('llama4', req, Promise.resolve(ok(11, 3)));
    expect(meter.total()).toEqual({ gpt4: { input: 30, output: 12 }, llama4: { input: 11, output: 3 } });
  });

  test('when a call was refused before it ran (open breaker, bulkhead, provider rejection), then it costs nothing', async () => {
    const meter = new SpendMeter();
    for (const code of ['circuit_open', 'overloaded', 'bad_request', 'rate_limited'] as const) {
      await meter.track('gpt4', req, Promise.resolve({ status: 'error', code, latencyMs: 0 }));
    }
    expect(meter.total()).toEqual({ gpt4: { input: 0, output: 0 } });
  });

  test('when a call never reached the model (the budget already spent), then it costs nothing; a race loser stopped after it was called pays its input', async () => {
    const meter = new SpendMeter();
    await meter.track('gpt4', req, Promise.resolve(notCalled({ status: 'skipped', code: 'cancelled', latencyMs: 0 })));
    await meter.track('llama4', req, Promise.resolve({ status: 'skipped', code: 'not_needed', latencyMs: 80 }));
    expect(meter.total()['gpt4']).toEqual({ input: 0, output: 0 });
    expect(meter.total()['llama4']!.input).toBeGreaterThan(0);
  });

  test('when a call is still running as the answer leaves, then it counts at the most it may cost', () => {
    const meter = new SpendMeter();
    void meter.track('llama4', req, new Promise<ModelOutcome>(() => {}));
    const total = meter.total()['llama4']!;
    expect(total.output).toBe(req.maxTokens);
    expect(total.input).toBeGreaterThan(0);
  });

  test('when a stream is cut without a usage report, then it is charged the input and what it produced', async () => {
    const meter = new SpendMeter();
    await meter.track('llama4', req, Promise.resolve({ status: 'error', code: 'cancelled', latencyMs: 5 }), () => 12);
    expect(meter.total()['llama4']!.output).toBe(12);
    expect(meter.total()['llama4']!.input).toBeGreaterThan(0);
  });
});

describe('the strategy table', () => {
  test.each(STRATEGIES.filter((s) => s !== 'fuse'))(
    'when every model fails under %s, then it calls no more models than maxModelCalls says',
    async (strategy) => {
      const order = ['a', 'b', 'c'];
      let calls = 0;
      await STRATEGY_RUNNERS[strategy](
        order,
        () => (calls++, Promise.resolve({ status: 'error', code: 'upstream_error', latencyMs: 1 })),
      );
      expect(calls).toBeLessThanOrEqual(maxModelCalls(strategy, order.length));
      expect(calls).toBe(order.length); // failures fall through to every model: the table must cover them all
    },
  );
});
