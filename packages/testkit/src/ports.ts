/**
 * Loopback port helpers for the test stacks: free ports handed out below the ephemeral range (so no outgoing
 * connection takes one first), and polling until a process is ready.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';

/**
 * Ports are handed out below the kernel's ephemeral range: a port the OS
 * picks for listen(0) lies inside that range, where any outgoing connection
 * (a sidecar to Redis, a test's fetch) may take it as its source port before
 * the process it was meant for binds it ("could not listen on any endpoint").
 * Within one process no port is handed out twice; a random start keeps
 * parallel processes apart.
 */
const EPHEMERAL_LOW = (() => {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
})();
const RANGE_LOW = Math.max(1024, EPHEMERAL_LOW - 12_000);
const RANGE_SIZE = EPHEMERAL_LOW - RANGE_LOW;
const handedOut = new Set<number>();
let next = RANGE_LOW + Math.floor(Math.random() * RANGE_SIZE);

const bindable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/** A TCP port that was free on 127.0.0.1 a moment ago, outside the ephemeral range, never handed out before by this process. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < RANGE_SIZE; tries++) {
    const port = next;
    next = RANGE_LOW + ((next - RANGE_LOW + 1) % RANGE_SIZE);
    if (handedOut.has(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port in ${RANGE_LOW}-${EPHEMERAL_LOW - 1}`);
}

/** Polls `probe` until it returns true or `timeoutMs` passes. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  isAlive = () => true,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`${what} exited before it was ready`);
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms`);
}

/** True when an HTTP GET answers with a status below 300 within a second. */
export async function httpOk(url: string, headers: Record<string, string> = {}): Promise<boolean> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(1000) });
  await res.body?.cancel();
  return res.status < 300;
}
