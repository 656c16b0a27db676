/** GET /playground: the static page and its files, without a key, under a strict CSP (needs `npx tsc -b` for dist/*.js). */
import request from 'supertest';
import { PLAYGROUND_CSP } from '../../src/entry-points/playground';
import { idleApp } from '../fakes';

describe('GET /playground', () => {
  test.each(['all', 'public', 'admin'] as const)(
    'when asked without a key on the %s listener, then the page with its CSP',
    async (surface) => {
      const res = await request(idleApp(surface)).get('/playground');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['content-security-policy']).toBe(PLAYGROUND_CSP);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.text).toContain('<script type="module" src="/playground/app.js"></script>');
    },
  );

  test('when the page asks for its script and stylesheet, then both, with their types and the same headers', async () => {
    const js = await request(idleApp()).get('/playground/app.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/^application\/javascript|^text\/javascript/);
    expect(js.headers['content-security-policy']).toBe(PLAYGROUND_CSP);
    const css = await request(idleApp()).get('/playground/playground.css');
    expect(css.status).toBe(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
  });

  test('when revalidating with Last-Modified, then 304', async () => {
    const first = await request(idleApp()).get('/playground/app.js');
    const again = await request(idleApp())
      .get('/playground/app.js')
      .set('if-modified-since', first.headers['last-modified']!);
    expect(again.status).toBe(304);
  });

  test.each(['tsconfig.json', 'api.d.ts', 'index.html', '..%2Fsrc%2Fapp.ts', 'missing.js'])(
    'when asked for %s, then the 404 problem',
    async (file) => {
      const res = await request(idleApp()).get(`/playground/${file}`);
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    },
  );
});
