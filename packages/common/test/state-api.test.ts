/** The state client against a plain HTTP server standing in for daprd: what counts as a conflict. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { stateApi } from '@context-qa/common/dapr';
import { DeadlineExceeded } from '@context-qa/common/deadline';

describe('stateApi save', () => {
  let server: http.Server;
  let port: number;
  /** What the stand-in answers: a save (POST) and a read (GET) of the key. */
  let answers: { save: (res: http.ServerResponse) => void; get: (res: http.ServerResponse) => void };
  let reads = 0;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.method === 'POST') return answers.save(res);
        reads++;
        answers.get(res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });
  beforeEach(() => (reads = 0));

  const api = () => stateApi({ DAPR_HOST: '127.0.0.1', DAPR_HTTP_PORT: port }, 'store', 300);
  const status =
    (code: number, body = '') =>
    (res: http.ServerResponse) =>
      void res.writeHead(code).end(body);
  const exists = (res: http.ServerResponse) => void res.writeHead(200, { etag: '3' }).end('{"text":"theirs"}');
  const absent = status(204);
  const stalls = () => undefined; // never answers

  test('when the store writes, then true', async () => {
    answers = { save: status(204), get: absent };
    expect(await api().save('k', { text: 'x' }, { firstWrite: true })).toBe(true);
  });

  test('when the etag condition fails (409), then false: a conflict', async () => {
    answers = { save: status(409), get: exists };
    expect(await api().save('k', { text: 'x' }, { firstWrite: true, etag: '2' })).toBe(false);
  });

  test('when a create-only write fails (state.redis: 500) and the key exists now, then false: a lost create is a conflict', async () => {
    answers = { save: status(500, '{"errorCode":"ERR_STATE_SAVE","message":"failed to set key k"}'), get: exists };
    expect(await api().save('k', { text: 'x' }, { firstWrite: true })).toBe(false);
    expect(reads).toBe(1);
  });

  test('when a create-only write fails and the key is still absent, then the failure is thrown', async () => {
    answers = { save: status(500, 'boom'), get: absent };
    await expect(api().save('k', { text: 'x' }, { firstWrite: true })).rejects.toThrow(/store save: HTTP 500/);
  });

  test('when a write with an etag fails, then the failure is thrown without a read: only a create can be lost that way', async () => {
    answers = { save: status(500, 'boom'), get: exists };
    await expect(api().save('k', { text: 'x' }, { firstWrite: true, etag: '2' })).rejects.toThrow(/HTTP 500/);
    expect(reads).toBe(0);
  });

  test('when a create-only write times out, then DeadlineExceeded without a read: it may still land', async () => {
    answers = { save: stalls, get: exists };
    await expect(api().save('k', { text: 'x' }, { firstWrite: true })).rejects.toBeInstanceOf(DeadlineExceeded);
    expect(reads).toBe(0);
  });

  test('when a last-write-wins write fails, then the failure is thrown', async () => {
    answers = { save: status(500, 'boom'), get: exists };
    await expect(api().save('k', { text: 'x' }, {})).rejects.toThrow(/HTTP 500/);
    expect(reads).toBe(0);
  });
});
