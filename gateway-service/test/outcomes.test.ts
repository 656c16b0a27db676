/** The gateway's outcome table, every row rendered as the routes render it: problem+json, and OpenAI's shape on the OpenAI routes. */
import express from 'express';
import request from 'supertest';
import { AppError, routeTable } from '@context-qa/common/http';
import { createLogger } from '@context-qa/common/telemetry';
import { OUTCOMES, outcome, refuse, type OutcomeCode } from '../src/domain/outcomes';
import { renderErrors } from '../src/entry-points/routes';

/** A listener whose routes all end in `code`, with the gateway's error rendering. */
function refusing(code: OutcomeCode, opts: Parameters<typeof refuse>[2] = {}) {
  const app = express();
  const routes = routeTable(app);
  for (const path of ['/v1/prompt', '/v1/chat/completions'])
    routes.add('post', path, (_req, res, next) => next(refuse(res, code, opts)));
  renderErrors(routes, createLogger('test', 'silent'));
  return app;
}

const rows = Object.entries(OUTCOMES) as [OutcomeCode, (typeof OUTCOMES)[OutcomeCode]][];

describe('the gateway outcome table', () => {
  test.each(rows)(
    'when a public route ends in %s, then problem+json with its status, code and Retry-After',
    async (code, row) => {
      const res = await request(refusing(code)).post('/v1/prompt');
      expect(res.status).toBe(row.status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(res.text)).toMatchObject({
        status: row.status,
        code,
        ...('detail' in row ? { detail: row.detail } : {}),
      });
      expect(res.headers['retry-after']).toBe('retryAfterS' in row ? String(row.retryAfterS) : undefined);
      expect(res.headers['www-authenticate']).toBe(code === 'unauthorized' ? 'Bearer' : undefined);
    },
  );

  test.each(rows)(
    'when the OpenAI route ends in %s, then the same status and code in OpenAI error shape',
    async (code, row) => {
      const res = await request(refusing(code)).post('/v1/chat/completions');
      expect(res.status).toBe(row.status);
      expect(res.body).toMatchObject({ error: { code, ...('detail' in row ? { message: row.detail } : {}) } });
      expect(res.headers['retry-after']).toBe('retryAfterS' in row ? String(row.retryAfterS) : undefined);
    },
  );

  test("when a route gives its own message, Retry-After and fields, then they replace the row's defaults", async () => {
    const res = await request(
      refusing('rate_limit_exceeded', { detail: 'slow down', retryAfterS: 7, extra: { limit: 'in_flight' } }),
    ).post('/v1/prompt');
    expect(res.headers['retry-after']).toBe('7');
    expect(JSON.parse(res.text)).toMatchObject({
      status: 429,
      code: 'rate_limit_exceeded',
      detail: 'slow down',
      limit: 'in_flight',
    });
  });

  test('when an adapter builds an outcome, then it is the AppError the handlers render, its cause kept for the logs only', () => {
    const cause = new Error('sidecar words');
    const err = outcome('ai_core_unavailable', { cause });
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({
      status: 503,
      detail: 'ai-core is unavailable',
      extra: { code: 'ai_core_unavailable' },
      cause,
    });
  });
});
