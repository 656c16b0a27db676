/** Per-key concurrency counted before the body is read: a key's slow bodies cannot fill a replica. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { problemHandler } from '@context-qa/common/http';
import { createLogger } from '@context-qa/common/telemetry';
import { keyConcurrency } from '../src/entry-points/key-concurrency';
import { NO_LIMITS } from './fakes';

async function app(maxInFlight: number) {
  const decisions: string[] = [];
  const perKey = keyConcurrency({ defaults: NO_LIMITS, onDecision: (d, reason) => decisions.push(`${d}:${reason}`) });
  const a = express();
  a.post(
    '/ask',
    (req, res, next) => (
      (res.locals['caller'] = { id: req.header('x-key') ?? 'k', scope: 'ask', limits: { maxInFlight } }),
      next()
    ),
    perKey,
    express.json(),
    (_req, res) => void res.json({ ok: true }),
  );
  a.use(problemHandler(createLogger('test', 'silent')));
  const server = http.createServer(a);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  /** A request whose body has not finished arriving: end() sends the rest. */
  const slowBody = (key = 'k') => {
    const req = http.request({
      port,
      host: '127.0.0.1',
      method: 'POST',
      path: '/ask',
      headers: { 'content-type': 'application/json', 'content-length': '14', 'x-key': key },
    });
    const status = new Promise<number>((resolve, reject) =>
      req.on('response', (res) => (res.resume(), resolve(res.statusCode!))).on('error', reject),
    );
    req.write('{"prompt"');
    return { end: () => (req.end(':"a"}'), status) };
  };
  const post = (key = 'k') =>
    fetch(`http://127.0.0.1:${port}/ask`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-key': key },
      body: '{}',
    });
  const waitHeld = async (key: string, n: number) => {
    while (perKey.inFlight(key) !== n) await new Promise((r) => setTimeout(r, 5));
  };
  return { slowBody, post, waitHeld, decisions, close: () => new Promise((r) => server.close(r)) };
}

test("when a key's maxInFlight requests are still sending their bodies, then its next request is refused before its body is read, other keys are not", async () => {
  const s = await app(2);
  try {
    const slow = [s.slowBody(), s.slowBody()];
    await s.waitHeld('k', 2);
    const refused = await s.post();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toMatchObject({ code: 'rate_limit_exceeded', limit: 'in_flight' });
    expect((await s.post('other')).status).toBe(200);
    expect(await Promise.all(slow.map((r) => r.end()))).toEqual([200, 200]);
    await s.waitHeld('k', 0);
    expect((await s.post()).status).toBe(200);
    expect(s.decisions).toEqual(['refused:in_flight']);
  } finally {
    await s.close();
  }
});
