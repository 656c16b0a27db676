/** The sidecar client against a plain HTTP server standing in for daprd. */
import { getEventListeners } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sidecarRequest, SidecarTimeout } from '@context-qa/common/dapr';

describe('sidecarRequest', () => {
  let server: http.Server;
  let url: string;
  let handler: (req: http.IncomingMessage, res: http.ServerResponse) => void;

  beforeAll(async () => {
    server = http.createServer((req, res) => handler(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  const rejection = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: unknown) => e as Error,
    );

  test('when the server answers, then status, headers and the whole body (multi-byte text split across chunks)', async () => {
    let got = '';
    handler = (req, res) => {
      req.setEncoding('utf8').on('data', (c: string) => (got += c));
      req.on('end', () => {
        res.writeHead(201, { etag: '7', 'metadata.ttlExpireTime': '2030-01-01T00:00:00Z' });
        const bytes = Buffer.from('{"v":"ünïcødé"}');
        res.write(bytes.subarray(0, 7)); // splits "ü" across two writes
        res.end(bytes.subarray(7));
      });
    };
    const res = await sidecarRequest(`${url}/x`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"k":"é"}',
    });
    expect(got).toBe('{"k":"é"}');
    expect(res.status).toBe(201);
    expect(res.header('etag')).toBe('7');
    expect(res.header('metadata.ttlexpiretime')).toBe('2030-01-01T00:00:00Z');
    expect(res.text).toBe('{"v":"ünïcødé"}');
  });

  test('when calls follow each other, then they reuse one kept-alive connection', async () => {
    const ports = new Set<number>();
    handler = (req, res) => {
      ports.add(req.socket.remotePort!);
      res.end('ok');
    };
    for (let i = 0; i < 5; i++) await sidecarRequest(`${url}/ka`);
    expect(ports.size).toBe(1);
  });

  test('when the body stalls past the own limit, then SidecarTimeout', async () => {
    handler = (_req, res) => {
      res.writeHead(200);
      res.write('{"partial":'); // …and nothing more
    };
    expect(await rejection(sidecarRequest(`${url}/stall`, { timeoutMs: 100 }))).toBeInstanceOf(SidecarTimeout);
  });

  test("when the caller's signal fires, then the call ends with its reason and the server sees the connection close", async () => {
    let closed = false;
    const reached = new Promise<void>((resolve) => {
      handler = (req) => {
        req.socket.once('close', () => (closed = true));
        resolve();
      };
    });
    const ctl = new AbortController();
    const p = rejection(sidecarRequest(`${url}/hang`, { signal: ctl.signal, timeoutMs: 5000 }));
    await reached;
    const reason = new Error('client gone');
    ctl.abort(reason);
    expect(await p).toBe(reason);
    for (let i = 0; i < 50 && !closed; i++) await new Promise((r) => setTimeout(r, 10));
    expect(closed).toBe(true);
  });

  test("when calls settle, then none leaves a listener on the caller's long-lived signal; an aborted signal sends nothing", async () => {
    const ctl = new AbortController();
    let seen = 0;
    handler = (_req, res) => {
      seen++;
      res.writeHead(seen === 1 ? 200 : 500).end('x');
    };
    await sidecarRequest(`${url}/ok`, { signal: ctl.signal });
    await sidecarRequest(`${url}/err`, { signal: ctl.signal, timeoutMs: 1000 });
    expect(getEventListeners(ctl.signal, 'abort')).toHaveLength(0);
    const reason = new Error('gone before');
    ctl.abort(reason);
    expect(await rejection(sidecarRequest(`${url}/never`, { signal: ctl.signal }))).toBe(reason);
    expect(seen).toBe(2);
  });

  test('when the server drops the connection mid-body, then an error, not a truncated text', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('{"cut":');
      setTimeout(() => res.socket?.destroy(), 20);
    };
    const err = await rejection(sidecarRequest(`${url}/cut`));
    expect(err?.message).toMatch(/aborted|ended early/);
    expect(err).not.toBeInstanceOf(SidecarTimeout);
  });

  test('when nothing listens, then the call fails (no hang)', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const s = http.createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as AddressInfo;
        s.close(() => resolve(port));
      });
    });
    expect(await rejection(sidecarRequest(`http://127.0.0.1:${closedPort}/`, { timeoutMs: 2000 }))).toMatchObject({
      code: 'ECONNREFUSED',
    });
  });
});
