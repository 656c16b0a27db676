/** The invoker adapter against a stand-in for the sidecar (a plain HTTP server at its port). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { REMAINING_HEADER } from '@context-qa/common/contract';
import { Deadline } from '@context-qa/common/deadline';
import { AppError } from '@context-qa/common/http';
import { daprInvoker } from '../src/adapters/ai-core-invoker';

describe('daprInvoker', () => {
  let server: http.Server;
  let handler: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  let invoker: ReturnType<typeof daprInvoker>;
  const ctx = { requestId: 'rid-1' };

  beforeAll(async () => {
    server = http.createServer((req, res) => handler(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    invoker = daprInvoker({ DAPR_HOST: '127.0.0.1', DAPR_HTTP_PORT: port, AI_CORE_APP_ID: 'ai-core-service' });
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  const failure = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: unknown) => e as AppError,
    );

  test('when ai-core answers, then the call carried the request id and at most the remaining budget', async () => {
    let seen: http.IncomingHttpHeaders = {};
    handler = (req, res) => {
      seen = req.headers;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    };
    const out = await invoker.send('POST', '/process', { prompt: 'hi' }, ctx, new Deadline(5000));
    expect(out).toEqual({ status: 200, body: { ok: true } });
    expect(seen['x-request-id']).toBe('rid-1');
    const passed = Number(seen[REMAINING_HEADER]);
    expect(passed).toBeGreaterThan(0);
    expect(passed).toBeLessThan(5000);
  });

  test("when ai-core refuses the sidecar's app token, then the caller gets a 502, not a 401", async () => {
    handler = (_req, res) =>
      res
        .writeHead(401, { 'content-type': 'application/problem+json' })
        .end('{"detail":"missing or wrong dapr-api-token"}');
    const err = await failure(invoker.send('POST', '/process', {}, ctx, new Deadline(5000)));
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ status: 502, extra: { code: 'ai_core_rejected_token' } });
    expect(err!.detail).not.toMatch(/dapr-api-token/);
  });

  test('when the body stalls after the headers until the deadline, then 504, not 500', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"answer":'); // …and nothing more
    };
    const err = await failure(invoker.send('POST', '/process', {}, ctx, new Deadline(300)));
    expect(err).toMatchObject({ status: 504, extra: { code: 'ai_core_timeout' } });
  });

  test("when the sidecar answers for ai-core with its own error, then a fixed 503 without the sidecar's words", async () => {
    const leak =
      'ERR_DIRECT_INVOKE: fail to invoke, id: ai-core-service, err: secret azure-openai-api-key arn:aws:iam::123456789012:role/x';
    handler = (_req, res) =>
      res
        .writeHead(500, { 'content-type': 'application/json' })
        .end(JSON.stringify({ errorCode: 'ERR_DIRECT_INVOKE', message: leak }));
    const err = await failure(invoker.send('POST', '/process', {}, ctx, new Deadline(5000)));
    expect(err).toMatchObject({ status: 503, extra: { code: 'ai_core_unavailable' } });
    expect(JSON.stringify({ detail: err!.detail, extra: err!.extra })).not.toMatch(/arn:|secret|123456789012/);
  });

  test('when the client goes away, then the call to the sidecar is aborted', async () => {
    let closed = false;
    const reached = new Promise<void>((resolve) => {
      handler = (req) => {
        req.socket.once('close', () => (closed = true));
        resolve();
      };
    });
    const deadline = new Deadline(5000);
    const p = failure(invoker.send('POST', '/process', {}, ctx, deadline));
    await reached;
    deadline.stop('client_gone');
    expect(await p).toMatchObject({ status: 499, extra: { code: 'client_closed' } });
    for (let i = 0; i < 50 && !closed; i++) await new Promise((r) => setTimeout(r, 10));
    expect(closed).toBe(true);
  });
});
