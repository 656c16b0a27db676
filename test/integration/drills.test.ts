/**
 * Fault drills under steady load (bounded in count and time, loopback only):
 * the system keeps answering, or answers a documented 503 fast, and recovers
 * by itself. Timing goals live in `make bench`; these assert behaviour.
 */
import type { AskResponse } from '@context-qa/common/contract';
import type { SimulatorAdmin } from '@context-qa/model-sim';
import { byStatus, DEV_KEYS, serviceApps, useStack, steadyLoad, type Sample } from '@context-qa/testkit';

describe('fault drills', () => {
  let sim: SimulatorAdmin;
  let gateway: string;

  const ask = (body: unknown, signal?: AbortSignal, contentType = 'application/json') =>
    fetch(`${gateway}/v1/prompt`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEV_KEYS.ask}`, 'content-type': contentType },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      ...(signal ? { signal } : {}),
    });
  /** What an ingestion job does: write straight into the source of truth through Dapr. */
  const seed = (key: string, text: string) => stack.seedContextStore({ [key]: text });
  const statuses = (s: Sample[]) => byStatus(s);

  const stack = useStack(
    {
      apps: serviceApps({
        aiCoreEnv: {
          MODEL_TIMEOUT_MS: '2000',
          BREAKER_VOLUME_THRESHOLD: '3',
          BREAKER_RESET_TIMEOUT_MS: '1000',
          LOG_LEVEL: 'warn',
        },
        gatewayEnv: { REQUEST_TIMEOUT_MS: '5000', LOG_LEVEL: 'warn' },
      }),
    },
    { afterEach: 'heal' },
  );

  beforeAll(() => {
    sim = stack.simulator;
    gateway = stack.appUrl('gateway-service');
  });

  test('when Redis dies under load, then there are no 5xx, context comes from DynamoDB, and Redis is used again once back', async () => {
    await seed('drill:redis', 'Durable context.');
    const samples = await steadyLoad({
      rps: 20,
      durationMs: 4000,
      request: (_i, signal) => ask({ prompt: 'q', contextKey: 'drill:redis' }, signal),
      events: [
        { atMs: 800, run: () => stack.proc('redis').stop() },
        { atMs: 2500, run: () => stack.proc('redis').start() },
      ],
    });
    expect(statuses(samples)).toEqual({ 200: samples.length });
    const sources = new Set(samples.map((s) => (s.body as AskResponse).context.source));
    expect(sources).toContain('dynamodb');
    expect(samples.every((s) => (s.body as AskResponse).answer.includes('Durable context.'))).toBe(true);
    let source = '';
    for (let i = 0; i < 60 && source !== 'redis'; i++) {
      source = ((await (await ask({ prompt: 'q', contextKey: 'drill:redis' })).json()) as AskResponse).context.source;
      if (source !== 'redis') await new Promise((r) => setTimeout(r, 250));
    }
    expect(source).toBe('redis');
  }, 60_000);

  test("when ai-core's sidecar stops and restarts under load, then the gateway answers 503 fast in the gap and recovers", async () => {
    const samples = await steadyLoad({
      rps: 20,
      durationMs: 7000,
      request: (_i, signal) => ask({ prompt: 'sidecar drill' }, signal),
      events: [
        { atMs: 1000, run: () => stack.proc('daprd:ai-core-service').stop() },
        { atMs: 2500, run: () => stack.proc('daprd:ai-core-service').start() },
      ],
    });
    const counts = statuses(samples);
    expect(Object.keys(counts).sort()).toEqual(['200', '503']);
    expect(Math.max(...samples.filter((s) => s.status === 503).map((s) => s.ms))).toBeLessThan(5000); // inside REQUEST_TIMEOUT_MS: no hang
    const tail = samples.filter((s) => s.at > 6000); // the sidecar has been back for over 2 s
    expect(tail.length).toBeGreaterThan(0);
    expect(tail.every((s) => s.status === 200)).toBe(true); // recovered, no gateway restart
  }, 60_000);

  test('when ai-core gets SIGTERM with requests in flight, then those requests complete', async () => {
    await sim.setFault('*', { latencyMs: 600 });
    const inflight = Array.from({ length: 8 }, (_, i) => ask({ prompt: `in flight ${i}` }));
    await new Promise((r) => setTimeout(r, 250));
    const stopped = stack.proc('ai-core-service').stop('SIGTERM', 10_000);
    const results = await Promise.all(inflight);
    await stopped;
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(stack.proc('ai-core-service').lastExit).toEqual({ code: 0, signal: null }); // drained and exited, not killed
    await sim.heal();
    await stack.proc('ai-core-service').start();
    expect((await ask({ prompt: 'back' })).status).toBe(200);
  }, 60_000);

  test('when both models flap, then every response is a 200 (maybe degraded) or a documented 503, never a 500 or a hang', async () => {
    await sim.setFault('gpt-4', { failRate: 0.4, error: 'internal', jitterMs: 50 });
    await sim.setFault('us.meta.llama4-maverick-17b-instruct-v1:0', {
      failRate: 0.4,
      error: 'throttling',
      jitterMs: 50,
    });
    const samples = await steadyLoad({
      rps: 25,
      durationMs: 4000,
      request: (_i, signal) => ask({ prompt: 'flap' }, signal),
    });
    const counts = statuses(samples);
    expect(Object.keys(counts).every((s) => s === '200' || s === '503')).toBe(true);
    expect(counts[200]).toBeGreaterThan(0);
    expect(samples.filter((s) => s.status === 200).some((s) => (s.body as AskResponse).degraded)).toBe(true);
    for (const s of samples.filter((x) => x.status === 503))
      expect(Object.keys((s.body as { models: object }).models).sort()).toEqual(['gpt4', 'llama4']);
  }, 60_000);

  test('when malformed and oversized requests burst in among good ones, then every good one is answered', async () => {
    const bad: [unknown, string?][] = [
      ['{"prompt":', undefined],
      [{ prompt: 'x'.repeat(70_000) }, undefined],
      [{ prompt: 42 }, undefined],
      ['prompt=hi', 'text/plain'],
      [{ prompt: 'hi', unknown: 1 }, undefined],
    ];
    const samples = await steadyLoad({
      rps: 100,
      durationMs: 2000,
      request: (i, signal) => {
        if (i % 3 === 0) return ask({ prompt: `good ${i}` }, signal);
        const [body, type] = bad[i % bad.length]!;
        return ask(body, signal, type);
      },
    });
    const good = samples.filter((_s, i) => i % 3 === 0);
    expect(good.every((s) => s.status === 200)).toBe(true);
    const rejected = samples.filter((_s, i) => i % 3 !== 0);
    expect(rejected.every((s) => s.status >= 400 && s.status < 500)).toBe(true);
    expect((await fetch(`${gateway}/readyz`)).status).toBe(200);
  }, 60_000);
});
