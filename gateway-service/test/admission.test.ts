import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { problemHandler } from '@context-qa/common/http';
import { createLogger } from '@context-qa/common/telemetry';
import { admission, eventLoopLag } from '../src/entry-points/admission';

/** An app whose only route holds each request until released, behind admission(2). */
async function held(lag?: () => number) {
  const releases: (() => void)[] = [];
  let refused = 0;
  const admit = admission({
    maxInFlight: 2,
    maxLagMs: lag ? 50 : 0,
    onRefused: () => refused++,
    ...(lag ? { lag } : {}),
  });
  const app = express();
  app.post('/ask', admit, (_req, res) => void releases.push(() => res.json({ ok: true })));
  app.use(problemHandler(createLogger('test', 'silent')));
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ask`;
  const waitHeld = async (n: number) => {
    while (releases.length < n) await new Promise((r) => setTimeout(r, 5));
  };
  const waitInFlight = async (n: number) => {
    while (admit.inFlight !== n) await new Promise((r) => setTimeout(r, 5));
  };
  const post = (init: RequestInit = {}) => fetch(url, { method: 'POST', ...init });
  /** One more request, held as the n-th, released, and answered 200: it was admitted. */
  const admittedAs = async (n: number) => {
    const answer = post();
    await waitHeld(n);
    releases[n - 1]!();
    expect((await answer).status).toBe(200);
  };
  return {
    post,
    admittedAs,
    releases,
    waitHeld,
    waitInFlight,
    refused: () => refused,
    close: () => new Promise((r) => server.close(r)),
  };
}

/** Refused at once: 503 overloaded, with Retry-After. */
async function expectOverloaded(res: Response): Promise<void> {
  expect(res.status).toBe(503);
  expect(res.headers.get('retry-after')).toBe('1');
  expect(await res.json()).toMatchObject({ code: 'overloaded' });
}

describe('admission (load shedding)', () => {
  test('when the replica is at its in-flight limit, then a new request is refused at once with 503 overloaded and Retry-After', async () => {
    const s = await held();
    const first = [s.post(), s.post()];
    await s.waitHeld(2);
    await expectOverloaded(await s.post());
    expect(s.refused()).toBe(1);
    // Slots come back when answers end: the next request is admitted again.
    s.releases.forEach((r) => r());
    expect((await Promise.all(first)).map((r) => r.status)).toEqual([200, 200]);
    await s.admittedAs(3);
    await s.close();
  });

  test('when a caller goes away, then its slot is freed', async () => {
    const s = await held();
    const gone = new AbortController();
    const abandoned = [
      s.post({ signal: gone.signal }).catch(() => undefined),
      s.post({ signal: gone.signal }).catch(() => undefined),
    ];
    await s.waitHeld(2);
    gone.abort();
    await Promise.all(abandoned);
    await s.waitInFlight(0); // the server has seen both sockets close
    await s.admittedAs(3);
    await s.close();
  });

  test('when the event loop runs later than the limit with answers under way, then new requests are refused until it catches up', async () => {
    let lagMs = 80;
    const s = await held(() => lagMs);
    // Nothing under way: the lateness is not the answers' doing, so one is admitted.
    const first = s.post();
    await s.waitHeld(1);
    await expectOverloaded(await s.post());
    lagMs = 5;
    const caughtUp = s.post();
    await s.waitHeld(2);
    s.releases.forEach((r) => r());
    expect((await Promise.all([first, caughtUp])).map((r) => r.status)).toEqual([200, 200]);
    expect(s.refused()).toBe(1);
    await s.close();
  });
});

describe('eventLoopLag', () => {
  test('when the loop is blocked, then the lag shows it; when it runs freely again, then the lag falls back', async () => {
    const lag = eventLoopLag(10, 0.5);
    const block = (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    block(200);
    // Due since long before, the monitor's tick runs first in the next timers phase, then this.
    await new Promise((r) => setTimeout(r, 1));
    const peak = lag();
    expect(peak).toBeGreaterThan(50);
    await new Promise((r) => setTimeout(r, 500)); // ~50 free ticks, each halving what is left of the block
    expect(lag()).toBeLessThan(peak * 0.75); // not 0: on a busy machine every tick is a little late
  });
});
