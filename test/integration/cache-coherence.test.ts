/**
 * Cache coherence on the real stack (Redis + dynalite behind both sidecars): a
 * read-miss write-back still in flight when an admin DELETE or PUT goes through
 * the gateway must not leave the old text in Redis or in the next answer.
 *
 * The interleaving is made deterministic with ai-core's test hook
 * cacheWriteBackDelayMs (src/test-hooks.ts: each write-back waits that long before writing);
 * the test reads ai-core's own metrics to know the write-back is pending before
 * it sends the admin write, and finished before it looks.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { createClient } from 'redis';
import { type AskResponse, DEFAULT_TENANT, tenantStoreKey } from '@context-qa/common/contract';
import { CONTEXT_TABLE, DEV_KEYS, dynamoClient, freePort, serviceApps, useStack } from '@context-qa/testkit';

const WRITEBACK_DELAY_MS = 2500;
const OLD = 'OLD-TEXT: the office is in Lyon.';
const NEW = 'NEW-TEXT: the office moved to Nantes.';

describe('cache coherence with a delayed write-back (components/local)', () => {
  let gateway: string;
  let metricsUrl: string;
  let redis: ReturnType<typeof createClient>;

  afterAll(() => redis?.quit()); // before the stack stops Redis: hooks run in the order declared
  const stack = useStack(async () => {
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    return {
      components: 'local',
      apps: serviceApps({
        aiCoreEnv: { METRICS_PORT: String(metricsPort) },
        testHooks: { aiCore: { cacheWriteBackDelayMs: WRITEBACK_DELAY_MS } },
      }),
    };
  });
  beforeAll(async () => {
    gateway = stack.appUrl('gateway-service');
    redis = createClient({ url: `redis://127.0.0.1:${stack.redisPort}` });
    await redis.connect();
  });

  const send = (method: string, path: string, key: string, body?: unknown) =>
    fetch(`${gateway}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  const ask = async (contextKey: string) => {
    const res = await send('POST', '/v1/prompt', DEV_KEYS.ask, { prompt: 'Where is the office?', contextKey });
    return { status: res.status, body: (await res.json()) as AskResponse };
  };
  const admin = (method: 'PUT' | 'DELETE', key: string, body?: unknown) =>
    send(method, `/v1/context/${encodeURIComponent(key)}`, DEV_KEYS.admin, body);

  /** A sample from ai-core's /metrics, e.g. metric('context_cache_writebacks_total', 'outcome="conflict"'). */
  async function metric(name: string, label = ''): Promise<number> {
    const text = await (await fetch(metricsUrl)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(label));
    return line ? Number(line.split(' ').at(-1)) : 0;
  }
  async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < 200; i++) {
      if (await probe()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`gave up waiting for ${what}`);
  }
  /** Where the dev keys' tenant's context key lives in Redis and DynamoDB (docs/tenants-and-limits.md "Tenants"). */
  const stored = (key: string) => tenantStoreKey(DEFAULT_TENANT, key);
  /** The text Redis holds for the key (undefined: nothing, or a tombstone). */
  const redisText = async (key: string): Promise<string | undefined> => {
    const data = await redis.hGet(stored(key), 'data');
    return data ? (JSON.parse(data) as { text?: string }).text : undefined;
  };

  /** Seeds OLD in DynamoDB only, asks (a miss), and returns once the write-back of OLD is pending. */
  async function missWithPendingWriteBack(key: string) {
    await stack.seedContextStore({ [key]: OLD });
    const conflicts = await metric('context_cache_writebacks_total', 'outcome="conflict"');
    const first = ask(key);
    await until('a pending write-back', async () => (await metric('context_cache_writebacks_pending')) >= 1);
    return { first, conflicts };
  }
  const writeBackDone = () =>
    until('the write-back to finish', async () => (await metric('context_cache_writebacks_pending')) === 0);

  test('when the context is deleted while a write-back of it is pending, then neither Redis nor the next answer has the old text', async () => {
    const key = `coherence/delete-${Date.now()}`;
    const { first, conflicts } = await missWithPendingWriteBack(key);
    expect((await admin('DELETE', key)).status).toBe(200);
    expect((await first).body.context.source).toBe('dynamodb'); // read before the delete
    await writeBackDone();

    expect(await redisText(key)).toBeUndefined();
    const next = await ask(key);
    expect(next.status).toBe(200);
    expect(next.body.context.source).toBe('none');
    expect(next.body.answer).not.toContain(OLD);
    expect(await metric('context_cache_writebacks_total', 'outcome="conflict"')).toBe(conflicts + 1);
  });

  test('when the context is overwritten while a write-back of it is pending, then Redis, DynamoDB and the next answer have the new text', async () => {
    const key = `coherence/put-${Date.now()}`;
    const { first, conflicts } = await missWithPendingWriteBack(key);
    const put = await admin('PUT', key, { text: NEW });
    expect(put.status).toBe(200);
    expect(((await put.json()) as { cache: string }).cache).toBe('refreshed');
    await first;
    await writeBackDone();

    expect(await redisText(key)).toBe(NEW);
    const ddb = dynamoClient(stack.dynamoPort);
    try {
      const item = await ddb.send(new GetItemCommand({ TableName: CONTEXT_TABLE, Key: { key: { S: stored(key) } } }));
      expect(JSON.parse(item.Item?.['value']?.S ?? '{}')).toEqual({ text: NEW });
    } finally {
      ddb.destroy();
    }
    const next = await ask(key);
    expect(next.body.context.source).toBe('redis');
    expect(next.body.answer).toContain(NEW);
    expect(next.body.answer).not.toContain(OLD);
    expect(await metric('context_cache_writebacks_total', 'outcome="conflict"')).toBe(conflicts + 1);
  });

  test('when context is put with a TTL shorter than the cache TTL, then the Redis copy expires no later than the stored item', async () => {
    const key = `coherence/ttl-${Date.now()}`;
    expect((await admin('PUT', key, { text: NEW, ttlSeconds: 30 })).status).toBe(200);
    expect(await redisText(key)).toBe(NEW);
    const ttl = await redis.ttl(stored(key));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30);
  });

  test('when ai-core is stopped while a write-back is pending, then the write-back still lands before it exits', async () => {
    const key = `coherence/shutdown-${Date.now()}`;
    const { first } = await missWithPendingWriteBack(key);
    expect((await first).status).toBe(200);
    await stack.proc('ai-core-service').stop(); // SIGTERM; the harness SIGKILLs only after 5 s
    expect(await redisText(key)).toBe(OLD); // no admin write raced it: the copy is right
    await stack.proc('ai-core-service').start();
  });
});
