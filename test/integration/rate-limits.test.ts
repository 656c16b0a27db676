/**
 * Per-key limits shared by two gateway replicas through one Dapr state store
 * (Redis): a burst from many connections split across both replicas admits
 * exactly the limit; token budgets charge reported usage; 429s are
 * well-formed; with the store stopped, a fail-open replica answers and a
 * fail-closed one refuses.
 */
import { sha256Hex, type Problem } from '@context-qa/common';
import { devSecrets, gatewayReplica, serviceApps, Stack } from '@context-qa/testkit';

const BURST_KEY = 'cqa_test_burst_3f8a2c';
const BUDGET_KEY = 'cqa_test_budget_9d1e47';
const ADMIN_KEY = 'cqa_test_admin_5b7c0d';
const RPM = 25;

/** The fields of GET /v1/usage/{keyId} (KeyUsage) that these tests read. */
interface KeyUsage {
  minute: { requests: number; tokens: number };
  day: { tokens: number };
}

function secrets(): Record<string, unknown> {
  const keys = [
    { id: 'burst', scope: 'ask', sha256: sha256Hex(BURST_KEY), limits: { requestsPerMinute: RPM } },
    { id: 'budget', scope: 'ask', sha256: sha256Hex(BUDGET_KEY), limits: { tokensPerDay: 400 } },
    { id: 'ops', scope: 'admin', sha256: sha256Hex(ADMIN_KEY) },
  ];
  return { ...devSecrets(), 'gateway-api-keys': JSON.stringify(keys) };
}

describe('rate limits across two gateway replicas (components/local)', () => {
  let stack: Stack;
  let replicas: string[];

  beforeAll(async () => {
    stack = await new Stack({
      secrets: secrets(),
      apps: [
        // No stored context in these prompts: estimate none, so the small daily budget fits a few answers.
        ...serviceApps({ aiCoreEnv: { LOG_LEVEL: 'warn' }, gatewayEnv: { LOG_LEVEL: 'warn', RATE_LIMIT_ASSUMED_CONTEXT_TOKENS: '0' } }),
        gatewayReplica('gateway-b', { LOG_LEVEL: 'warn', RATE_LIMIT_ASSUMED_CONTEXT_TOKENS: '0', RATE_LIMIT_FAIL_CLOSED: 'true' }),
      ],
    }).start();
    replicas = [stack.appUrl('gateway-service'), stack.appUrl('gateway-b')];
  }, 120_000);
  afterAll(() => stack?.stop());

  const ask = (base: string, key: string, prompt = 'limits?') =>
    fetch(`${base}/v1/prompt`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt, maxTokens: 50, strategy: 'primary' }),
    });

  test('when a burst from many connections hits both replicas, then exactly the per-minute limit is admitted', async () => {
    // A minute boundary inside the burst would open a fresh window: start just after one if close.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 50_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 200));
    const responses = await Promise.all(Array.from({ length: 2 * RPM + 10 }, (_, i) => ask(replicas[i % 2]!, BURST_KEY)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(RPM);
    expect(statuses.filter((s) => s === 429)).toHaveLength(RPM + 10);
    const refused = responses.find((r) => r.status === 429)!;
    expect(refused.headers.get('content-type')).toMatch(/problem\+json/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.headers.get('ratelimit-policy')).toBe(`"requests-per-minute";q=${RPM};w=60`);
    expect(await refused.json()).toMatchObject({ code: 'rate_limit_exceeded', limit: 'requests_per_minute' });
    const usage = await fetch(`${replicas[1]}/v1/usage/burst`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(((await usage.json()) as KeyUsage).minute.requests).toBe(RPM); // a refusal writes nothing
  }, 60_000);

  test("when a key's daily token budget is used up by reported usage, then the next request is refused before any model is called", async () => {
    const sim = stack.simulator;
    let status = 200;
    let answered = 0;
    for (let i = 0; i < 20 && status === 200; i++) {
      status = (await ask(replicas[i % 2]!, BUDGET_KEY, `budget question ${i}`)).status;
      if (status === 200) answered++;
    }
    expect(status).toBe(429);
    expect(answered).toBeGreaterThan(0);
    const before = await sim.counters();
    const refused = await ask(replicas[0]!, BUDGET_KEY, 'one more');
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as Problem).limit).toBe('tokens_per_day');
    expect(await sim.counters()).toEqual(before); // refused before it cost anything
    const usage = (await (await fetch(`${replicas[0]}/v1/usage/budget`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json()) as KeyUsage;
    expect(usage.day.tokens).toBeGreaterThan(0);
  }, 60_000);

  test('when the limit store is down, then the fail-open replica answers and the fail-closed one refuses with 503', async () => {
    await stack.proc('redis').stop();
    try {
      expect((await ask(replicas[0]!, BURST_KEY)).status).toBe(200); // counted as a store error, answered
      const closed = await ask(replicas[1]!, BURST_KEY);
      expect(closed.status).toBe(503);
      expect(((await closed.json()) as Problem).code).toBe('limits_unavailable');
    } finally {
      await stack.proc('redis').start();
    }
  }, 60_000);
});
