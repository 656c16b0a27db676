/**
 * The security review's items at the gateway: headers on every response, a
 * status-only /readyz, audit lines for admin reads, and the direct URL to ai-core
 * (a test hook of the bench, not a setting; never given the Dapr token).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { loadConfig } from '@context-qa/common/config';
import { keyHash, sha256Hex } from '@context-qa/common/crypto';
import { Deadline } from '@context-qa/common/deadline';
import { Readiness } from '@context-qa/common/http';
import { createLogger } from '@context-qa/common/telemetry';
import { daprInvoker } from '../src/adapters/ai-core-invoker';
import type { AiCore } from '../src/domain/ports';
import { createApp } from '../src/app';
import { configSchema } from '../src/config';
import { testHooksFrom } from '../src/test-hooks';
import { limitDeps } from './fakes';

const ADMIN_KEY = 'cqa_test_admin_9d3b7a1e5c';
const admin = { authorization: `Bearer ${ADMIN_KEY}` };

interface LogLine {
  [field: string]: unknown;
}

function setup(readiness = new Readiness({})) {
  const lines: LogLine[] = [];
  const aiCore: AiCore = {
    send: async () => ({ status: 200, body: { key: 'plan', text: 't' } }),
    open: async () => ({ status: 200, body: { key: 'plan', text: 't' } }),
  };
  const app = createApp({
    logger: createLogger('test', 'info', { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) }),
    aiCore,
    apiKeys: () => [
      { id: 'key-admin-1', scope: 'admin', sha256: sha256Hex(ADMIN_KEY) },
      { id: 'key-ask-7', scope: 'ask', sha256: sha256Hex('cqa_test_ask_unused') },
    ],
    readiness,
    bodyLimit: '1kb',
    requestTimeoutMs: 5000,
    limits: limitDeps().deps,
  });
  return { app, lines };
}

async function auditLines(lines: LogLine[], count: number): Promise<LogLine[]> {
  const audit = () => lines.filter((l) => l['audit'] === true);
  for (let i = 0; i < 100 && audit().length < count; i++) await new Promise((r) => setImmediate(r));
  return audit();
}

describe('gateway security headers', () => {
  test.each([
    ['an answer route refusing a missing key', 'post', '/v1/prompt'],
    ['the playground', 'get', '/playground'],
    ['the OpenAI error shape', 'post', '/v1/chat/completions'],
    ['the readiness probe', 'get', '/readyz'],
  ] as const)(
    'when the response is %s, then it carries HSTS, X-Frame-Options DENY and COOP',
    async (_what, method, path) => {
      const res = await request(setup().app)[method](path);
      expect(res.headers['strict-transport-security']).toMatch(/^max-age=\d+/);
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['cross-origin-opener-policy']).toBe('same-origin');
    },
  );
});

describe('gateway /readyz on the public port', () => {
  test('when the sidecar check fails, then the answer is a bare not_ready problem naming no check', async () => {
    const res = await request(setup(new Readiness({ sidecar: async () => false, apiKeys: async () => true })).app).get(
      '/readyz',
    );
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ code: 'not_ready' });
    expect(res.text).not.toMatch(/sidecar|apiKeys|checks/);
  });
  test('when ready, then only the status', async () => {
    const res = await request(setup().app).get('/readyz');
    expect(res.body).toEqual({ status: 'ready' });
  });
});

describe('gateway audit lines for admin reads', () => {
  test('when context is read, then an info audit line names the key id and the hashed context key, never the key', async () => {
    const { app, lines } = setup();
    expect((await request(app).get('/v1/context/plan%2Fsecret').set(admin)).status).toBe(200);
    const [line] = await auditLines(lines, 1);
    expect(line).toMatchObject({
      level: 30,
      action: 'context.get',
      keyId: 'key-admin-1',
      contextKeyHash: keyHash('plan/secret'),
      status: 200,
      result: 'ok',
    });
    expect(JSON.stringify(lines)).not.toContain('plan/secret');
  });

  test('when a key\u2019s usage is read, then an info audit line names who read whose usage, refused reads too', async () => {
    const { app, lines } = setup();
    expect((await request(app).get('/v1/usage/key-ask-7').set(admin)).status).toBe(200);
    await request(app).get('/v1/usage/no-such-key').set(admin); // probing for keys is audited too, whatever the answer
    expect(await auditLines(lines, 2)).toEqual([
      expect.objectContaining({
        level: 30,
        action: 'usage.get',
        keyId: 'key-admin-1',
        targetKeyId: 'key-ask-7',
        status: 200,
        result: 'ok',
      }),
      expect.objectContaining({ level: 30, action: 'usage.get', keyId: 'key-admin-1', targetKeyId: 'no-such-key' }),
    ]);
  });
});

describe('a direct URL to ai-core (a test hook of the bench, not a setting)', () => {
  test('when AI_CORE_DIRECT_URL is in the environment, then the configuration has no such setting: the gateway still calls through Dapr', () => {
    const config = loadConfig(configSchema, { AI_CORE_DIRECT_URL: 'http://127.0.0.1:8081', BENCHMARK_MODE: 'true' });
    expect(config).not.toHaveProperty('AI_CORE_DIRECT_URL');
    expect(config).not.toHaveProperty('BENCHMARK_MODE');
  });

  test('when the test hooks are read, then only the known hook is accepted, and only as a URL', () => {
    expect(testHooksFrom({})).toEqual({});
    expect(testHooksFrom({ CONTEXT_QA_TEST_HOOKS: '{"aiCoreDirectUrl":"http://127.0.0.1:8081"}' })).toEqual({
      aiCoreDirectUrl: 'http://127.0.0.1:8081',
    });
    expect(() => testHooksFrom({ CONTEXT_QA_TEST_HOOKS: '{"aiCoreDirectUrl":"not a url"}' })).toThrow();
    expect(() => testHooksFrom({ CONTEXT_QA_TEST_HOOKS: '{"aiCoreDirecturl":"http://127.0.0.1:8081"}' })).toThrow();
  });

  test('when ai-core is called directly, then the Dapr token is not sent; through the sidecar it is', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const sidecar = {
        DAPR_HOST: '127.0.0.1',
        DAPR_HTTP_PORT: port,
        DAPR_API_TOKEN: 'dapr-secret-token',
        AI_CORE_APP_ID: 'ai-core-service',
      };
      await daprInvoker({ ...sidecar, AI_CORE_DIRECT_URL: `http://127.0.0.1:${port}` }).send(
        'POST',
        '/process',
        {},
        { requestId: 'r1' },
        new Deadline(5000),
      );
      await daprInvoker(sidecar).send('POST', '/process', {}, { requestId: 'r2' }, new Deadline(5000));
      expect(seen.map((h) => h['dapr-api-token'])).toEqual([undefined, 'dapr-secret-token']);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
