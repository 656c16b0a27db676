/** gateway-service's log lines: one access line per request, an audit line per context write, never a key, prompt or text. */
import request from 'supertest';
import type { AskResponse } from '@context-qa/common/contract';
import { keyHash, sha256Hex } from '@context-qa/common/crypto';
import { Readiness } from '@context-qa/common/http';
import { createLogger } from '@context-qa/common/telemetry';
import type { AiCore } from '../src/domain/ports';
import { createApp } from '../src/app';
import { limitDeps } from './fakes';

const ASK_KEY = 'cqa_test_ask_5e1f0b7c9d';
const ADMIN_KEY = 'cqa_test_admin_2a8c4e6f1b';
const PROMPT = 'PROMPT-MARKER what is the plan?';
const TEXT = 'CONTEXT-MARKER the plan is secret';

const answer: AskResponse = {
  requestId: 'x',
  answer: 'A',
  answeredBy: 'llama4',
  strategy: 'both',
  degraded: true,
  context: { source: 'redis', key: 'plan' },
  cache: 'miss',
  models: {
    gpt4: { status: 'error', latencyMs: 1, code: 'rate_limited' },
    llama4: { status: 'ok', text: 'A', latencyMs: 1 },
  },
};

/** A pino line as parsed JSON: its level, then whatever fields it carries. */
interface LogLine {
  level: number;
  [field: string]: unknown;
}

function setup() {
  const lines: LogLine[] = [];
  const aiCore: AiCore = {
    async send(method) {
      if (method === 'POST') return { status: 200, body: answer };
      if (method === 'DELETE') return { status: 503, body: { title: 'Service Unavailable', status: 503 } };
      return { status: 200, body: { key: 'plan', stored: true } };
    },
    open: async () => ({ status: 200, body: answer }),
  };
  const app = createApp({
    logger: createLogger('test', 'info', { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) }),
    aiCore,
    apiKeys: () => [
      { id: 'key-ask-1', scope: 'ask', sha256: sha256Hex(ASK_KEY) },
      { id: 'key-admin-1', scope: 'admin', sha256: sha256Hex(ADMIN_KEY) },
    ],
    readiness: new Readiness({}),
    bodyLimit: '1kb',
    requestTimeoutMs: 5000,
    limits: limitDeps().deps,
  });
  return { app, lines };
}

/** Lines are written when the response ends, which may be a tick after the client has it. */
async function settled(lines: unknown[], count: number): Promise<void> {
  for (let i = 0; i < 100 && lines.length < count; i++) await new Promise((r) => setImmediate(r));
}

const accessLines = (lines: LogLine[]) => lines.filter((l) => l['msg'] === 'request');

describe('gateway logs', () => {
  test('when a prompt is answered, then exactly one access line has request id, key id, route, status, latency, answeredBy and degraded', async () => {
    const { app, lines } = setup();
    const res = await request(app)
      .post('/prompt')
      .query({ prompt: PROMPT })
      .set('authorization', `Bearer ${ASK_KEY}`)
      .set('x-request-id', 'req-log-1');
    expect(res.status).toBe(200);
    await settled(lines, 1);
    expect(accessLines(lines)).toEqual([
      expect.objectContaining<Record<string, unknown>>({
        level: 30,
        requestId: 'req-log-1',
        keyId: 'key-ask-1',
        method: 'POST',
        route: '/prompt',
        status: 200,
        latencyMs: expect.any(Number),
        answeredBy: 'llama4',
        degraded: true,
      }),
    ]);
  });

  test('when a request is rejected, then its access line still carries the key id and status', async () => {
    const { app, lines } = setup();
    await request(app).get('/v1/context/plan').set('x-api-key', ASK_KEY); // ask key on an admin route
    await request(app).post('/v1/prompt').set('x-api-key', 'cqa_wrong').send({ prompt: PROMPT });
    await settled(accessLines(lines), 2);
    const access = accessLines(lines);
    expect(access).toEqual([
      expect.objectContaining({ keyId: 'key-ask-1', route: '/v1/context/:key', status: 403 }),
      expect.objectContaining({ route: '/v1/prompt', status: 401 }),
    ]);
    expect(access[1]).not.toHaveProperty('keyId');
  });

  test('when context is written and deleted, then each gets an info audit line with key id, context key and result, never the text', async () => {
    const { app, lines } = setup();
    await request(app).put('/v1/context/plan').set('authorization', `Bearer ${ADMIN_KEY}`).send({ text: TEXT });
    await request(app).delete('/v1/context/plan').set('authorization', `Bearer ${ADMIN_KEY}`);
    for (let i = 0; i < 100 && lines.filter((l) => l['audit']).length < 2; i++)
      await new Promise((r) => setImmediate(r));
    const audit = lines.filter((l) => l['audit'] === true);
    expect(audit).toEqual([
      expect.objectContaining<Record<string, unknown>>({
        level: 30,
        action: 'context.put',
        keyId: 'key-admin-1',
        contextKeyHash: keyHash('plan'),
        status: 200,
        result: 'ok',
        requestId: expect.any(String),
      }),
      expect.objectContaining({
        level: 30,
        action: 'context.delete',
        keyId: 'key-admin-1',
        contextKeyHash: keyHash('plan'),
        status: 503,
        result: 'failed',
      }),
    ]);
  });

  test('when keys, prompts and context text pass through, then no log line contains them', async () => {
    const { app, lines } = setup();
    await request(app).post('/v1/prompt').set('authorization', `Bearer ${ASK_KEY}`).send({ prompt: PROMPT });
    await request(app).post('/prompt').query({ prompt: PROMPT }).set('x-api-key', ASK_KEY);
    await request(app).put('/v1/context/plan').set('authorization', `Bearer ${ADMIN_KEY}`).send({ text: TEXT });
    await request(app).post('/v1/prompt').set('authorization', `Bearer ${ASK_KEY}`).send({ prompt: PROMPT, bogus: 1 });
    await settled(accessLines(lines), 4);
    expect(accessLines(lines)).toHaveLength(4);
    const all = JSON.stringify(lines);
    for (const secret of [ASK_KEY, ADMIN_KEY, 'PROMPT-MARKER', 'CONTEXT-MARKER']) expect(all).not.toContain(secret);
  });

  test('when the probes are called, then their access lines are at debug (absent at info)', async () => {
    const { app, lines } = setup();
    await request(app).get('/healthz');
    await request(app).get('/readyz');
    await request(app).post('/v1/prompt').set('authorization', `Bearer ${ASK_KEY}`).send({ prompt: 'x' });
    await settled(accessLines(lines), 1);
    expect(accessLines(lines).map((l) => l['route'])).toEqual(['/v1/prompt']);
  });
});
