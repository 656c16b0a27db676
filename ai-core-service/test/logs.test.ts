/** ai-core-service's log lines: one access line per request; a degraded answer's cause at warn, without prompt or context text. */
import request from 'supertest';
import { TENANT_HEADER } from '@context-qa/common/contract';
import { createLogger } from '@context-qa/common/telemetry';
import type { Answer } from '../src/domain/answer/question';
import { TENANT, testApp } from './fakes';

const PROMPT = 'PROMPT-MARKER what is the plan?';

/** A pino line as parsed JSON: its level, then whatever fields it carries. */
interface LogLine {
  level: number;
  [field: string]: unknown;
}

function setup(degraded: boolean) {
  const lines: LogLine[] = [];
  const app = testApp({
    logger: createLogger('test', 'info', { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) }),
    pipeline: {
      answer: async (q): Promise<Answer> => ({
        answeredBy: 'llama4',
        outcome: { status: 'ok', text: `CONTEXT-MARKER ${q.question}`, latencyMs: 2 },
        degraded,
        context: { source: 'none', key: 'k' },
        cache: 'miss',
        models: {
          gpt4: degraded
            ? { status: 'error', latencyMs: 3, code: 'rate_limited', error: 'the model provider throttled the call' }
            : { status: 'ok', text: 'G', latencyMs: 1 },
          llama4: { status: 'ok', text: `CONTEXT-MARKER ${q.question}`, latencyMs: 2 },
        },
      }),
    },
  });
  return { app, lines };
}

async function settled(lines: LogLine[], count: number): Promise<LogLine[]> {
  const access = () => lines.filter((l) => l['msg'] === 'request');
  for (let i = 0; i < 100 && access().length < count; i++) await new Promise((r) => setImmediate(r));
  return access();
}

describe('ai-core logs', () => {
  test('when an answer is degraded, then a warn line names each failed model with status and code, and the access line says so', async () => {
    const { app, lines } = setup(true);
    const res = await request(app)
      .post('/process')
      .set('x-request-id', 'req-deg-1')
      .set(TENANT_HEADER, TENANT)
      .send({ prompt: PROMPT });
    expect(res.status).toBe(200);
    const access = await settled(lines, 1);
    expect(lines.filter((l) => l['level'] === 40 && l['degraded'] === true)).toEqual([
      expect.objectContaining({
        requestId: 'req-deg-1',
        cause: { models: { gpt4: { status: 'error', code: 'rate_limited' } }, context: 'none' },
      }),
    ]);
    expect(access).toEqual([
      expect.objectContaining({
        requestId: 'req-deg-1',
        route: '/process',
        status: 200,
        answeredBy: 'llama4',
        degraded: true,
      }),
    ]);
    expect(JSON.stringify(lines)).not.toMatch(/PROMPT-MARKER|CONTEXT-MARKER/);
  });

  test('when an answer is not degraded, then nothing is logged at warn', async () => {
    const { app, lines } = setup(false);
    await request(app).post('/process').set(TENANT_HEADER, TENANT).send({ prompt: PROMPT });
    await settled(lines, 1);
    expect(lines.filter((l) => l['level'] >= 40)).toEqual([]);
  });
});
