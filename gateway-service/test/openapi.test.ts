/** GET /openapi.json: the public API's document, served without a key on the public listener only. */
import request from 'supertest';
import { openApiDocument } from '@context-qa/common/openapi';
import { idleApp } from './fakes';

describe('GET /openapi.json', () => {
  test.each(['all', 'public'] as const)(
    'when asked without a key on the %s listener, then the OpenAPI document',
    async (surface) => {
      const res = await request(idleApp(surface)).get('/openapi.json');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
    },
  );

  test('when asked on the admin listener, then 404: it describes the public API', async () => {
    expect((await request(idleApp('admin')).get('/openapi.json')).status).toBe(404);
  });
});
