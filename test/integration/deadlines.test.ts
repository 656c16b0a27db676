/**
 * Breakers and deadlines through the real stack: gateway → daprd → daprd →
 * ai-core → the model simulator, whose counters show which model calls were
 * abandoned (the HTTP request really closed) rather than left running.
 */
import type { SimulatorAdmin } from '@context-qa/model-sim';
import { type AskResponse, STRATEGIES } from '@context-qa/common/contract';
import type { Problem } from '@context-qa/common/http';
import { DEV_KEYS, serviceApps, useStack, type Stack } from '@context-qa/testkit';

const GPT = 'gpt-4';
const LLAMA = 'us.meta.llama4-maverick-17b-instruct-v1:0';
const MODEL_TIMEOUT_MS = 2000;
const RESET_MS = 3000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One stack per block: `modelTimeoutMs` decides whether a model deadline can
 * fire during the tests, `gatewayBudgetMs` is the gateway's REQUEST_TIMEOUT_MS.
 */
function withStack(modelTimeoutMs: number, gatewayBudgetMs: number) {
  const stack = useStack({
    apps: serviceApps({
      aiCoreEnv: {
        MODEL_TIMEOUT_MS: String(modelTimeoutMs),
        REQUEST_TIMEOUT_MS: '65000',
        SHUTDOWN_GRACE_MS: '65000',
        BREAKER_VOLUME_THRESHOLD: '3',
        BREAKER_RESET_TIMEOUT_MS: String(RESET_MS),
        BREAKER_ROLLING_WINDOW_MS: '80000', // 0.9 × it at least REQUEST_TIMEOUT_MS: ai-core refuses a shorter window
        LOG_LEVEL: 'warn',
      },
      gatewayEnv: {
        REQUEST_TIMEOUT_MS: String(gatewayBudgetMs),
        SHUTDOWN_GRACE_MS: String(gatewayBudgetMs),
        LOG_LEVEL: 'warn',
      },
    }),
  });
  return {
    stack,
    get sim(): SimulatorAdmin {
      return stack.simulator;
    },
  };
}

function helpers(ctx: { stack: Stack; sim: SimulatorAdmin }) {
  const ask = (body: Record<string, unknown>, init: { signal?: AbortSignal; headers?: Record<string, string> } = {}) =>
    fetch(`${ctx.stack.appUrl('gateway-service')}/v1/prompt`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEV_KEYS.ask}`, 'content-type': 'application/json', ...init.headers },
      body: JSON.stringify(body),
      ...(init.signal ? { signal: init.signal } : {}),
    });
  const askJson = async (body: Record<string, unknown>) => {
    const res = await ask(body);
    return { status: res.status, body: (await res.json()) as AskResponse };
  };
  /** Polls until `check` holds (bounded); returns its last value. */
  const until = async <T>(probe: () => Promise<T>, check: (v: T) => boolean, ms = 8000): Promise<T> => {
    let v = await probe();
    for (const end = Date.now() + ms; !check(v) && Date.now() < end; v = await probe()) await sleep(50);
    return v;
  };
  const openCalls = async () => (await ctx.sim.route('chat', GPT)).open + (await ctx.sim.route('converse', LLAMA)).open;
  const abandoned = async () =>
    (await ctx.sim.route('chat', GPT)).abandoned + (await ctx.sim.route('converse', LLAMA)).abandoned;

  const reset = async () => {
    await ctx.sim.heal();
    await until(openCalls, (n) => n === 0);
    await ctx.sim.resetCounters();
  };
  return { ask, askJson, until, openCalls, abandoned, reset };
}

// No model deadline can fire here (60 s): every call that ends was stopped by its caller,
// or by the gateway's 3 s budget, which ai-core receives and keeps.
describe('one deadline per request, cancelled end to end', () => {
  const ctx = withStack(60_000, 3_000);
  const { ask, until, openCalls, abandoned, reset } = helpers(ctx);
  afterEach(reset);

  test.each(STRATEGIES)(
    'when the client disconnects during %s, then every model call in flight is abandoned',
    async (strategy) => {
      await ctx.sim.setFault('*', { hang: true });
      const client = new AbortController();
      const pending = ask({ prompt: `disconnect ${strategy}`, strategy }, { signal: client.signal }).catch(
        () => 'aborted',
      );
      const parallel = strategy === 'primary' || strategy === 'sequential' ? 1 : 2; // both, fastest and fuse's drafts run together
      expect(await until(openCalls, (n) => n === parallel)).toBe(parallel);
      client.abort();
      await pending;
      expect(await until(openCalls, (n) => n === 0)).toBe(0);
      expect(await abandoned()).toBe(parallel);
      // primary/sequential: the second model is never called once the client has gone
      expect((await ctx.sim.route('chat', GPT)).requests + (await ctx.sim.route('converse', LLAMA)).requests).toBe(
        parallel,
      );
    },
    30_000,
  );

  test("when the gateway's budget passes, then ai-core answers 504 in time and the model calls stop with it", async () => {
    await ctx.sim.setFault('*', { hang: true });
    // A public caller cannot shorten (or lengthen) the budget: the header is ignored at the edge.
    const res = await ask({ prompt: 'budget', strategy: 'both' }, { headers: { 'x-request-timeout-ms': '1' } });
    expect(res.status).toBe(504);
    const body = (await res.json()) as Problem;
    // Normally ai-core's own answer (it knew the gateway's budget); on a busy machine the gateway's may come first.
    expect(body.code).toMatch(/^(deadline_exceeded|ai_core_timeout)$/);
    expect(await until(openCalls, (n) => n === 0)).toBe(0);
    expect(await abandoned()).toBe(2);
  }, 30_000);
});

describe('breakers that cannot be fooled', () => {
  const ctx = withStack(MODEL_TIMEOUT_MS, 60_000);
  const { askJson, until, openCalls, reset } = helpers(ctx);
  afterEach(reset);

  test('when one model hangs under fastest, then its breaker opens, and in half-open only a real answer closes it', async () => {
    await ctx.sim.setFault(GPT, { hang: true });
    // Llama wins every race; GPT, never seen answering, runs on to its deadline.
    const raced = await Promise.all([1, 2, 3].map((i) => askJson({ prompt: `race ${i}`, strategy: 'fastest' })));
    expect(raced.map((r) => r.body.answeredBy)).toEqual(['llama4', 'llama4', 'llama4']);
    await until(openCalls, (n) => n === 0);
    expect((await askJson({ prompt: 'is it open?', strategy: 'both' })).body.models.gpt4!.code).toBe('circuit_open');

    await sleep(RESET_MS + 200); // half-open: the next call is the trial
    expect((await askJson({ prompt: 'trial', strategy: 'fastest' })).body.answeredBy).toBe('llama4');
    await until(openCalls, (n) => n === 0); // the trial ran to its deadline: GPT still hangs
    expect((await askJson({ prompt: 'still open?', strategy: 'both' })).body.models.gpt4!.code).toBe('circuit_open');

    await ctx.sim.heal();
    await sleep(RESET_MS + 200);
    expect((await askJson({ prompt: 'healed trial', strategy: 'both' })).body.models.gpt4!.status).toBe('ok');
    expect((await askJson({ prompt: 'closed', strategy: 'both' })).body.models.gpt4!.status).toBe('ok');
  }, 60_000);
});
