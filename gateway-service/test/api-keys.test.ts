/** The API-key list: what a missing secret, a bad entry, a failed read and time do to it; and the route before it loads. */
import request from 'supertest';
import { loadConfig } from '@context-qa/common/config';
import { sha256Hex } from '@context-qa/common/crypto';
import { Readiness } from '@context-qa/common/http';
import { createLogger } from '@context-qa/common/telemetry';
import { DEV_KEYS } from '@context-qa/testkit';
import { ApiKeySource } from '../src/adapters/api-key-source';
import { createApp } from '../src/app';
import { configSchema } from '../src/config';
import { apiKeyEntrySchema, DEV_KEY_HASHES, type ApiKeyEntry } from '../src/domain/api-keys';
import { gatewayMetrics } from '../src/metrics';
import { limitDeps } from './fakes';

const K1 = 'cqa_test_key_one_01';
const K2 = 'cqa_test_key_two_02';
const entry = (id: string, key: string, scope = 'ask') => ({ id, scope, sha256: sha256Hex(key) });
const list = (...entries: unknown[]) => JSON.stringify(entries);

/** A source over a scripted reader: each refresh takes the next answer (a value, undefined = missing, Error = failed read). */
function source(answers: (string | undefined | Error)[], maxStalenessMs = 10_000, refusedHashes?: ReadonlySet<string>) {
  let clock = 0;
  const skipped: number[] = [];
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('test', 'info', {
    write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>),
  });
  const keys = new ApiKeySource(
    async () => {
      const next = answers.shift();
      if (next instanceof Error) throw next;
      return next;
    },
    logger,
    {
      maxStalenessMs,
      onSkipped: (n) => skipped.push(n),
      now: () => clock,
      ...(refusedHashes ? { refusedHashes } : {}),
    },
  );
  return { keys, skipped, lines, advance: (ms: number) => void (clock += ms) };
}

describe('ApiKeySource', () => {
  test('when the secret is missing, then the list is loaded and empty (deleting the secret revokes every key)', async () => {
    const { keys } = source([list(entry('a', K1)), undefined]);
    await keys.refresh();
    expect(keys.list()).toHaveLength(1);
    await keys.refresh();
    expect(keys.loaded).toBe(true);
    expect(keys.list()).toEqual([]);
  });

  test('when the secret is missing at the first read, then the gateway is loaded (with no keys), not stuck unloaded', async () => {
    const { keys } = source([undefined]);
    await keys.refresh();
    expect(keys.loaded).toBe(true);
    expect(keys.fresh).toBe(true);
  });

  test('when one entry is malformed, then it is skipped, logged and counted, and the others stay valid', async () => {
    const { keys, skipped, lines } = source([
      list(entry('good', K1), { id: 'bad', scope: 'root', sha256: 'nothex' }, entry('also-good', K2, 'admin')),
    ]);
    await keys.refresh();
    expect(keys.list()?.map((e) => e.id)).toEqual(['good', 'also-good']);
    expect(skipped).toEqual([1]);
    const logged = lines.find((l) => l['msg'] === 'malformed API-key entry skipped');
    expect(logged).toMatchObject<Record<string, unknown>>({
      index: 1,
      keyId: 'bad',
      issues: expect.arrayContaining([expect.stringMatching(/^scope/), expect.stringMatching(/^sha256/)]),
    });
  });

  test('when two entries share an id, then the first is kept and the later one is skipped, logged and counted (limits and usage are keyed by id)', async () => {
    const { keys, skipped, lines } = source([
      list({ ...entry('team', K1), tenant: 'team-a' }, entry('other', K2), {
        ...entry('team', 'cqa_test_key_three_03', 'admin'),
        tenant: 'team-b',
      }),
    ]);
    await keys.refresh();
    expect(keys.list()?.map((e) => [e.id, e.tenant, e.sha256])).toEqual([
      ['team', 'team-a', sha256Hex(K1)],
      ['other', undefined, sha256Hex(K2)],
    ]);
    expect(skipped).toEqual([1]);
    expect(
      lines.find((l) => l['msg'] === 'API-key entry with a duplicate id skipped: ids must be unique'),
    ).toMatchObject({ index: 2, keyId: 'team', firstIndex: 0 });
  });

  test('when a read fails (sidecar down, timeout), then the last good list is kept', async () => {
    const { keys } = source([list(entry('a', K1)), new Error('connect ECONNREFUSED'), 'not json', '{"not":"a list"}']);
    await keys.refresh();
    for (let i = 0; i < 3; i++) {
      await keys.refresh();
      expect(keys.list()?.map((e) => e.id)).toEqual(['a']);
    }
  });

  test('when reads fail from the start, then the list stays unloaded', async () => {
    const { keys } = source([new Error('connect ECONNREFUSED')]);
    await keys.refresh();
    expect(keys.loaded).toBe(false);
    expect(keys.list()).toBeUndefined();
  });

  test('when no read has succeeded for longer than the maximum staleness, then it is no longer fresh; a good read makes it fresh again', async () => {
    const { keys, advance } = source([list(entry('a', K1)), new Error('down'), list(entry('a', K1))], 10_000);
    await keys.refresh();
    advance(10_000);
    await keys.refresh(); // fails
    expect(keys.fresh).toBe(true); // exactly at the limit
    advance(1);
    expect(keys.fresh).toBe(false);
    expect(keys.ageMs).toBe(10_001);
    expect(keys.list()).toHaveLength(1); // still served while stale
    await keys.refresh();
    expect(keys.fresh).toBe(true);
  });
});

describe('key-list metrics', () => {
  test('when scraped, then the age of the last good list (before the first, of the source) is computed at scrape time and skipped entries are counted', async () => {
    const metrics = gatewayMetrics();
    let clock = 0;
    const keys = new ApiKeySource(async () => list(entry('a', K1), { id: 'bad' }), createLogger('test', 'silent'), {
      maxStalenessMs: 10_000,
      onSkipped: metrics.onSkippedKeys,
      now: () => clock,
    });
    metrics.watchKeys(keys);
    const scrape = async (name: string) => (await metrics.registry.getSingleMetric(name)!.get()).values[0]?.value;
    clock += 30_000;
    expect(await scrape('gateway_api_keys_age_seconds')).toBe(30); // nothing read yet: since the source was created
    await keys.refresh();
    clock += 42_000;
    expect(await scrape('gateway_api_keys_age_seconds')).toBe(42);
    expect(await scrape('gateway_api_keys_skipped_total')).toBe(1);
  });
});

describe('gateway before the key list is loaded', () => {
  const app = (keys: () => ReturnType<ApiKeySource['list']>) =>
    createApp({
      logger: createLogger('test', 'silent'),
      aiCore: { send: async () => ({ status: 200, body: {} }), open: async () => ({ status: 200, body: {} }) },
      apiKeys: keys,
      readiness: new Readiness({}),
      bodyLimit: '1kb',
      requestTimeoutMs: 5000,
      limits: limitDeps().deps,
    });

  test('when a valid key arrives before the list is loaded, then 503 problem+json with Retry-After and code keys_not_loaded, not 401', async () => {
    const res = await request(app(() => undefined))
      .post('/v1/prompt')
      .set('authorization', `Bearer ${K1}`)
      .send({ prompt: 'hi' });
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 503, code: 'keys_not_loaded', requestId: res.headers['x-request-id'] });
  });

  test('when no key is sent before the list is loaded, then still 401 (that answer cannot change)', async () => {
    expect(
      (
        await request(app(() => undefined))
          .post('/v1/prompt')
          .send({ prompt: 'hi' })
      ).status,
    ).toBe(401);
  });

  test('when the loaded list is empty (secret deleted), then a formerly valid key gets 401', async () => {
    expect(
      (
        await request(app(() => []))
          .post('/v1/prompt')
          .set('authorization', `Bearer ${K1}`)
          .send({ prompt: 'hi' })
      ).status,
    ).toBe(401);
  });
});

describe('gateway key settings', () => {
  test('when the maximum staleness is not above the refresh interval, then start-up is refused naming both variables', () => {
    expect(() =>
      loadConfig(configSchema, { API_KEYS_REFRESH_MS: '60000', API_KEYS_MAX_STALENESS_MS: '60000' }),
    ).toThrow(/API_KEYS_MAX_STALENESS_MS: .*API_KEYS_REFRESH_MS/);
    expect(loadConfig(configSchema, { API_KEYS_REFRESH_MS: '1000', API_KEYS_MAX_STALENESS_MS: '5000' })).toMatchObject({
      API_KEYS_MAX_STALENESS_MS: 5000,
    });
  });
});

describe('presented keys and key entries', () => {
  const logged: Record<string, unknown>[] = [];
  const app = (entries: ApiKeyEntry[]) =>
    createApp({
      logger: createLogger('test', 'info', {
        write: (line: string) => void logged.push(JSON.parse(line) as Record<string, unknown>),
      }),
      aiCore: { send: async () => ({ status: 200, body: {} }), open: async () => ({ status: 200, body: {} }) },
      apiKeys: () => entries,
      readiness: new Readiness({}),
      bodyLimit: '1kb',
      requestTimeoutMs: 5000,
      limits: limitDeps().deps,
    });
  const ask = (entries: ApiKeyEntry[], key: string) =>
    request(app(entries)).post('/v1/prompt').set('authorization', `Bearer ${key}`).send({ prompt: 'hi' });
  beforeEach(() => void logged.splice(0));

  test.each([
    'k1',
    'cqa_short',
    'CQA_test_key_one_01',
    'cqa_test.key.one1',
    `cqa_${'a'.repeat(121)}`,
    'cqa_test-key-one-01',
  ])(
    'when a presented key %s does not match the key format, then 401 even though an entry has its hash',
    async (key) => {
      const res = await ask([{ id: 'x', scope: 'ask', sha256: sha256Hex(key) }], key);
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ status: 401, detail: 'API key not recognised' });
    },
  );

  test('when a key has expired, then 401 like an unknown key, and an info line names its id; before then it works', async () => {
    const past = await ask(
      [{ id: 'old-key', scope: 'ask', sha256: sha256Hex(K1), expiresAt: '2020-01-01T00:00:00Z' }],
      K1,
    );
    expect(past.status).toBe(401);
    expect(past.body).toMatchObject({ detail: 'API key not recognised' });
    expect(logged.find((l) => l['msg'] === 'expired API key refused')).toMatchObject({ level: 30, keyId: 'old-key' });
    expect(JSON.stringify(logged)).not.toContain(K1);
    expect(
      (await ask([{ id: 'new-key', scope: 'ask', sha256: sha256Hex(K1), expiresAt: '2999-01-01T00:00:00+02:00' }], K1))
        .status,
    ).toBe(200);
  });

  test.each<[string, Record<string, unknown>]>([
    ['a tenant with ":"', { tenant: 'a:b' }],
    ['an upper-case tenant', { tenant: 'Team' }],
    ['allTenants on an ask key', { allTenants: true }],
    ['a malformed readTenants entry', { readTenants: ['ok', 'not ok'] }],
    ['an expiresAt that is not a date-time', { expiresAt: 'tomorrow' }],
  ])('when an entry has %s, then it is malformed', (_what, extra) => {
    expect(apiKeyEntrySchema.safeParse({ ...entry('e', K1), ...extra }).success).toBe(false);
  });

  test('when an entry has every optional field right, then it is valid', () => {
    const ok = {
      ...entry('e', K1, 'admin'),
      tenant: 'team-a',
      readTenants: ['shared'],
      allTenants: true,
      expiresAt: '2030-01-01T00:00:00Z',
    };
    expect(apiKeyEntrySchema.parse(ok)).toEqual(ok);
  });
});

describe('the published dev keys', () => {
  test('when compared with the testkit, then DEV_KEY_HASHES are exactly the hashes of its dev keys', () => {
    expect([...DEV_KEY_HASHES].sort()).toEqual(Object.values(DEV_KEYS).map(sha256Hex).sort());
  });

  test('when the list holds dev-key entries and dev keys are refused (outside local dev), then those are skipped with an error line and the others stay', async () => {
    const dev = { id: 'dev-ask', scope: 'ask', sha256: sha256Hex(DEV_KEYS.ask) };
    const { keys, skipped, lines } = source([list(dev, entry('real', K1))], 10_000, DEV_KEY_HASHES);
    await keys.refresh();
    expect(keys.list()?.map((e) => e.id)).toEqual(['real']);
    expect(skipped).toEqual([1]);
    expect(lines.find((l) => l['level'] === 50)).toMatchObject<Record<string, unknown>>({
      keyId: 'dev-ask',
      msg: expect.stringMatching(/dev key/),
    });
  });

  test('when LOCAL_DEV is not set, then it is off; make dev and the test stacks set it', () => {
    expect(loadConfig(configSchema, {}).LOCAL_DEV).toBe(false);
    expect(loadConfig(configSchema, { LOCAL_DEV: 'true' }).LOCAL_DEV).toBe(true);
  });
});
