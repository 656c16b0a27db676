/** GET /openapi.json: the public API's document, served without a key on the public listener only. */
import request from 'supertest';
import { createLogger, openApiDocument, Readiness } from '@context-qa/common';
import type { AiCore } from '../src/adapters/ai-core-invoker';
import { createApp } from '../src/app';
import { limitDeps } from './fakes';

const unused = async (): Promise<never> => {
  throw new Error('not called');
};
const app = (surface: 'all' | 'public' | 'admin') =>
  createApp({
    logger: createLogger('test', 'silent'),
    aiCore: { send: unused, open: unused } satisfies AiCore,
    apiKeys: () => [],
    readiness: new Readiness({}),
    bodyLimit: '1kb',
    requestTimeoutMs: 5000,
    limits: limitDeps().deps,
    surface,
  });

describe('GET /openapi.json', () => {
  test.each(['all', 'public'] as const)('when asked without a key on the %s listener, then the OpenAPI document', async (surface) => {
    const res = await request(app(surface)).get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
  });

  test('when asked on the admin listener, then 404: it describes the public API', async () => {
    expect((await request(app('admin')).get('/openapi.json')).status).toBe(404);
  });
});
