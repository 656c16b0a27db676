/**
 * Per-key limits shared by two gateway replicas through one Dapr state store
 * (Redis): a burst from many connections split across both replicas admits
 * exactly the limit; a refusal by one limit takes no other limit's slot; a
 * replica that dies holding a slot loses it within the lease; token budgets
 * charge reported usage; 429s are well-formed; with the store stopped, a
 * fail-open replica decides alone (its share) and a fail-closed one refuses.
 */
import { sha256Hex } from '@context-qa/common/crypto';
import type { Problem } from '@context-qa/common/http';
import { devSecrets, gatewayReplica, httpOk, serviceApps, useStack, waitFor } from '@context-qa/testkit';

const BURST_KEY = 'cqa_test_burst_3f8a2c';
const BUDGET_KEY = 'cqa_test_budget_9d1e47';
const ADMIN_KEY = 'cqa_test_admin_5b7c0d';
const MIXED_KEY = 'cqa_test_mixed_6e2a91';
const LEASE_KEY = 'cqa_test_lease_0c4f7b';
const RPM = 25;
const LEASE_SECONDS = 4;
/** Prompts holding this marker hang at the simulator (until the caller goes). */
const HOLD = 'hold-this-request';

/** The fields of GET /v1/usage/{keyId} (KeyUsage) that these tests read. */
interface KeyUsage {
  minute: { requests: number; tokens: number };
  day: { tokens: number };
  inFlight: number;
}

function secrets(): Record<string, unknown> {
  const keys = [
    { id: 'burst', scope: 'ask', sha256: sha256Hex(BURST_KEY), limits: { requestsPerMinute: RPM } },
    // maxInFlight only to observe settlement: a request's charge lands with its lease's release.
    { id: 'budget', scope: 'ask', sha256: sha256Hex(BUDGET_KEY), limits: { tokensPerDay: 400, maxInFlight: 5 } },
    { id: 'mixed', scope: 'ask', sha256: sha256Hex(MIXED_KEY), limits: { requestsPerMinute: 5, maxInFlight: 1 } },
    { id: 'lease', scope: 'ask', sha256: sha256Hex(LEASE_KEY), limits: { maxInFlight: 1 } },
    { id: 'ops', scope: 'admin', sha256: sha256Hex(ADMIN_KEY) },
  ];
  return { ...devSecrets(), 'gateway-api-keys': JSON.stringify(keys) };
}

describe('rate limits across two gateway replicas (components/local)', () => {
  let replicas: string[];

  // A short lease: a slot left by a dead replica frees itself within seconds.
  const gatewayEnv = { RATE_LIMIT_ASSUMED_CONTEXT_TOKENS: '0', RATE_LIMIT_LEASE_SECONDS: String(LEASE_SECONDS) };

  const stack = useStack({
    secrets: secrets(),
    apps: [
      // No stored context in these prompts: estimate none, so the small daily budget fits a few answers.
      ...serviceApps({ aiCoreEnv: { LOG_LEVEL: 'warn' }, gatewayEnv: { LOG_LEVEL: 'warn', ...gatewayEnv } }),
      gatewayReplica('gateway-b', { LOG_LEVEL: 'warn', ...gatewayEnv, RATE_LIMIT_FAIL_CLOSED: 'true' }),
    ],
  });

  beforeAll(() => {
    replicas = [stack.appUrl('gateway-service'), stack.appUrl('gateway-b')];
  });

  const ask = (base: string, key: string, prompt = 'limits?', signal?: AbortSignal) =>
    fetch(`${base}/v1/prompt`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt, maxTokens: 50, strategy: 'primary' }),
      ...(signal ? { signal } : {}),
    });
  const usageOf = async (keyId: string, base = replicas[0]!) =>
    (await (
      await fetch(`${base}/v1/usage/${keyId}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })
    ).json()) as KeyUsage;
  const inFlightIs = (keyId: string, n: number) =>
    waitFor(`${keyId} with ${n} in flight`, async () => (await usageOf(keyId)).inFlight === n, 10_000);
  /** A request that stays in flight (the simulator holds it) until `abort()`. */
  const held = (base: string, key: string) => {
    const controller = new AbortController();
    const done = ask(base, key, `${HOLD} please`, controller.signal).catch(() => undefined);
    return { abort: () => (controller.abort(), done) };
  };

  test('when a burst from many connections hits both replicas, then exactly the per-minute limit is admitted', async () => {
    // A minute boundary inside the burst would open a fresh window: start just after one if close.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 50_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 200));
    const responses = await Promise.all(
      Array.from({ length: 2 * RPM + 10 }, (_, i) => ask(replicas[i % 2]!, BURST_KEY)),
    );
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

  test('when requests refused for in_flight race on both replicas, then none is refused for requests per minute and none takes a request slot', async () => {
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 50_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 200));
    await stack.simulator.setFault('*', { hang: true, onlyIf: HOLD });
    try {
      const holder = held(replicas[0]!, MIXED_KEY);
      await inFlightIs('mixed', 1);
      // 20 racing requests on a key at 1 of 5 a minute and 1 of 1 in flight: each is refused for in_flight alone.
      const racing = await Promise.all(Array.from({ length: 20 }, (_, i) => ask(replicas[i % 2]!, MIXED_KEY)));
      const limits = await Promise.all(
        racing.map(async (r) => `${r.status} ${String(((await r.json()) as Problem).limit)}`),
      );
      expect(limits).toEqual(Array.from({ length: 20 }, () => '429 in_flight'));
      expect((await usageOf('mixed')).minute.requests).toBe(1);
      await holder.abort();
      await inFlightIs('mixed', 0);
      expect((await ask(replicas[1]!, MIXED_KEY)).status).toBe(200);
      expect((await usageOf('mixed')).minute.requests).toBe(2);
    } finally {
      await stack.simulator.heal();
    }
  }, 60_000);

  test('when a replica dies holding an in-flight slot, then the slot frees itself within the lease', async () => {
    await stack.simulator.setFault('*', { hang: true, onlyIf: HOLD });
    const b = stack.proc('gateway-b');
    try {
      const holder = held(replicas[1]!, LEASE_KEY);
      await inFlightIs('lease', 1);
      await b.stop('SIGKILL'); // no release will ever come from it
      await holder.abort();
      expect(((await (await ask(replicas[0]!, LEASE_KEY)).json()) as Problem).limit).toBe('in_flight'); // still held
      // No renewal comes from the dead replica: its lease expires (within LEASE_SECONDS), and the slot with it.
      await waitFor(
        'the slot to free itself',
        async () => (await ask(replicas[0]!, LEASE_KEY)).status === 200,
        (LEASE_SECONDS + 3) * 1000,
      );
    } finally {
      await stack.simulator.heal();
      await b.start();
      // Started is alive; ready is keys loaded (before, a key gets 503 keys_not_loaded).
      await waitFor('gateway-b ready', () => httpOk(`${replicas[1]!}/readyz`), 30_000);
    }
  }, 60_000);

  test("when a key's daily token budget is used up by reported usage, then the next request is refused before any model is called", async () => {
    const sim = stack.simulator;
    let status = 200;
    let answered = 0;
    for (let i = 0; i < 20 && status === 200; i++) {
      status = (await ask(replicas[i % 2]!, BUDGET_KEY, `budget question ${i}`)).status;
      if (status === 200) answered++;
      // The reservation is settled to the spend after the response, with the lease's release (one write): wait for it.
      await inFlightIs('budget', 0);
    }
    expect(status).toBe(429);
    expect(answered).toBeGreaterThan(0);
    const before = await sim.counters();
    const refused = await ask(replicas[0]!, BUDGET_KEY, 'one more');
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as Problem).limit).toBe('tokens_per_day');
    expect(await sim.counters()).toEqual(before); // refused before it cost anything
    const usage = (await (
      await fetch(`${replicas[0]}/v1/usage/budget`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })
    ).json()) as KeyUsage;
    expect(usage.day.tokens).toBeGreaterThan(0);
  }, 60_000);

  test('when the limit store is down, then the fail-open replica decides alone (its share of the limit) and the fail-closed one refuses with 503', async () => {
    await stack.proc('redis').stop();
    try {
      expect((await ask(replicas[0]!, BURST_KEY)).status).toBe(200); // counted as a store error, decided by this replica alone
      const closed = await ask(replicas[1]!, BURST_KEY);
      expect(closed.status).toBe(503);
      expect(((await closed.json()) as Problem).code).toBe('limits_unavailable');
    } finally {
      await stack.proc('redis').start();
    }
  }, 60_000);
});
