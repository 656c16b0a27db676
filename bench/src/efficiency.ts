/**
 * Scenario `efficiency`: what one answer costs and how the stack behaves past
 * its capacity. One model per request (`primary`), the answer cache bypassed:
 * - the simulator called directly at 100 req/s (the floor our overhead is measured against);
 * - through the stack at 100 req/s, context hit and context miss (CPU-ms per answer per process);
 * - flat out (32 connections): the capacity;
 * - offered twice that capacity for 30 s: answered within the deadline or refused fast (503 + Retry-After);
 * - then half the capacity: it recovers by itself.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import type { Stack } from '@context-qa/testkit';
import type { RunRow, ScenarioResult } from './run';

const SCENARIO = 'efficiency';
/** The row (and process) of a bare Node proxy in front of the simulator: what one Node hop costs at least. */
export const FLOOR = 'floor: bare Node proxy → simulator';
const SYSTEM = 'You are a precise assistant for question answering.';

export async function efficiency(o: { stack: Stack; short: boolean; run: RunRow; gateway: string }): Promise<void> {
  const secs = (full: number) => (o.short ? 1 : full);
  const rate = o.short ? 20 : 100;
  await o.stack.seedContextStore({ 'efficiency:hot': 'The efficiency context is short and always in the cache.' });
  const hit = { prompt: 'What does the context say?', contextKey: 'efficiency:hot', strategy: 'primary' };
  let n = 0;
  const miss = () => ({
    prompt: 'What does the context say?',
    contextKey: `efficiency:miss:${n++}`,
    strategy: 'primary',
  });

  const simulator = `${o.stack.simulatorUrl}/openai/deployments/gpt-4/chat/completions?api-version=2024-10-21`;
  const simBody = {
    messages: [
      { role: 'system', content: SYSTEM },
      { role: 'user', content: `Question: ${hit.prompt}` },
    ],
    max_tokens: 512,
  };
  const simHeaders = { 'api-key': 'simulated' };
  await o.run(SCENARIO, `simulator direct, ${rate} req/s`, {
    url: simulator,
    body: simBody,
    durationSec: secs(20),
    rate,
    headers: simHeaders,
  });
  const proxy = await floorProxy(simulator);
  try {
    const url = `http://127.0.0.1:${proxy.port}/`;
    await o.run(
      SCENARIO,
      `${FLOOR}, ${rate} req/s`,
      { url, body: simBody, durationSec: secs(20), rate, headers: simHeaders },
      undefined,
      undefined,
      { [FLOOR]: proxy.pid },
    );
  } finally {
    proxy.stop();
  }
  await o.run('warm-up', 'efficiency', { url: o.gateway, body: hit, durationSec: secs(5), rate });
  await o.run(SCENARIO, `primary, context hit, ${rate} req/s`, {
    url: o.gateway,
    body: hit,
    durationSec: secs(20),
    rate,
  });
  await o.run(SCENARIO, `primary, context miss, ${rate} req/s`, {
    url: o.gateway,
    body: miss,
    durationSec: secs(20),
    rate,
  });
  const max = await o.run(SCENARIO, 'primary, context hit, flat out (32 connections)', {
    url: o.gateway,
    body: hit,
    durationSec: secs(20),
    connections: 32,
  });
  const capacity = Math.max(10, max.rps);
  await o.run(SCENARIO, `overload: 2× capacity (${2 * capacity} req/s) for ${secs(30)} s`, {
    url: o.gateway,
    body: hit,
    durationSec: secs(30),
    rate: 2 * capacity,
  });
  await o.run(SCENARIO, `recovery: half capacity (${Math.round(capacity / 2)} req/s)`, {
    url: o.gateway,
    body: hit,
    durationSec: secs(10),
    rate: Math.round(capacity / 2),
  });
}

/** CPU milliseconds one answer costs in each process: its share of a core over the row, per answered request. */
export function cpuMsPerAnswer(row: ScenarioResult): Record<string, number> {
  const answered = row.requests - row.errors - row.non2xx;
  const perSecond = answered / Math.max(1, row.requests / Math.max(1, row.rps));
  const out: Record<string, number> = {};
  for (const [proc, usage] of Object.entries(row.processes))
    out[proc] = perSecond > 0 ? Math.round(((usage.cpuPercent * 10) / perSecond) * 100) / 100 : 0;
  return out;
}

/** bench/src/floor-proxy.ts as a child process, listening on a free loopback port. */
async function floorProxy(upstream: string): Promise<{ port: number; pid: number; stop: () => void }> {
  const child = fork(path.join(__dirname, 'floor-proxy.js'), [upstream], { stdio: 'ignore' });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve(Number(m)));
    child.once('exit', (code) => reject(new Error(`floor proxy exited (${code})`)));
  });
  return { port, pid: child.pid!, stop: () => child.kill() };
}
