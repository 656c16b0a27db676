/**
 * `make bench`: the whole stack locally, load from this separate process, and a
 * report in bench/results/latest.{json,md}. `--short` runs every scenario for a
 * second or two (used by `make test` to prove the benchmark works; no timing asserted).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { daprBin, DEV_KEYS, freePort, httpOk, ManagedProcess, repoRoot, serviceApps, Stack } from '@context-qa/testkit';
import { load, type LoadStats } from './load';
import { watch, type ProcUsage } from './procstats';
import { markdown } from './report';

const short = process.argv.includes('--short');
const outDir = argValue('--out') ?? path.join(repoRoot, 'bench', 'results');
const only = argValue('--only');
const secs = (full: number) => (short ? 1 : full);
const wanted = (scenario: string) => !only || only.split(',').includes(scenario);
const LLAMA = 'us.meta.llama4-maverick-17b-instruct-v1:0';
const GPT = 'gpt-4';

export interface ScenarioResult extends LoadStats {
  scenario: string;
  variant: string;
  processes: Record<string, ProcUsage>;
  note?: string;
}

function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const started = Date.now();
  const stack = await new Stack({
    apps: serviceApps({
      aiCoreEnv: {
        LOG_LEVEL: 'warn',
        MODEL_TIMEOUT_MS: '1000',
        BREAKER_VOLUME_THRESHOLD: '5',
        BREAKER_RESET_TIMEOUT_MS: '3000',
        BREAKER_ROLLING_WINDOW_MS: '5000',
      },
      gatewayEnv: { LOG_LEVEL: 'warn' },
    }),
  }).start();
  const direct = await startDirectGateway(stack);
  const sim = stack.simulator;
  const results: ScenarioResult[] = [];
  try {
    const gw = `${stack.appUrl('gateway-service')}/v1/prompt`;
    const gwDirect = `http://127.0.0.1:${direct.port}/v1/prompt`;
    const headers = { authorization: `Bearer ${DEV_KEYS.ask}` };
    const pids = Object.fromEntries(
      [...stack.processes].filter(([, p]) => p.pid).map(([n, p]) => [n, p.pid!] as const).concat([['load generator', process.pid]]),
    );
    const run = async (scenario: string, variant: string, spec: Omit<Parameters<typeof load>[0], 'headers'>, note?: string) => {
      const done = watch(pids);
      const stats = await load({ ...spec, headers });
      results.push({ scenario, variant, ...stats, processes: done(), ...(note ? { note } : {}) });
      console.log(`${scenario.padEnd(12)} ${variant.padEnd(34)} ${stats.rps} req/s p50 ${stats.p50} p99 ${stats.p99} errors ${stats.errors + stats.non2xx}`);
    };
    await run('warm-up', 'dapr', { url: gw, body: { prompt: 'warm up' }, durationSec: secs(3), connections: 8 });
    results.pop();

    // 1. Overhead of the two sidecar hops: same request, with and without Dapr between the services.
    if (wanted('overhead')) {
    for (const rate of [50, 200]) {
      await run('overhead', `dapr, ${rate} req/s`, { url: gw, body: { prompt: 'overhead' }, durationSec: secs(10), rate });
      await run('overhead', `direct, ${rate} req/s`, { url: gwDirect, body: { prompt: 'overhead' }, durationSec: secs(10), rate });
    }
    await run('overhead', 'dapr, max (32 connections)', { url: gw, body: { prompt: 'overhead' }, durationSec: secs(10), connections: 32 });
    await run('overhead', 'direct, max (32 connections)', { url: gwDirect, body: { prompt: 'overhead' }, durationSec: secs(10), connections: 32 });
    }

    // 2. Parallelism: Llama 300 ms, GPT 500 ms.
    await sim.setFault(LLAMA, { latencyMs: 300 });
    await sim.setFault(GPT, { latencyMs: 500 });
    if (wanted('parallelism')) {
      for (const strategy of ['sequential', 'both', 'fastest', 'primary']) {
        await run('parallelism', strategy, { url: gw, body: { prompt: 'parallel', strategy }, durationSec: secs(10), connections: 10 });
      }
    }

    // 3. Breaker fail-fast: GPT hangs; its breaker (MODEL_TIMEOUT_MS 1000) opens, then GPT heals.
    if (wanted('breaker')) {
      await new Promise((r) => setTimeout(r, short ? 0 : 5500)); // let earlier successes leave the breaker's window
      await sim.setFault(GPT, { hang: true });
      const breaker = { url: gw, body: { prompt: 'breaker' }, rate: 20 };
      await run('breaker', 'GPT hanging: first 3 s', { ...breaker, durationSec: secs(3) }, 'bounded by the 1 s model deadline until the breaker opens');
      await run('breaker', 'GPT hanging: breaker open', { ...breaker, durationSec: secs(5) }, 'Llama-only latency (300 ms) plus a 1 s trial every 3 s');
      await sim.setFault(GPT, { latencyMs: 500 });
      await new Promise((r) => setTimeout(r, short ? 0 : 3500)); // BREAKER_RESET_TIMEOUT_MS: half-open, then closed
      await run('breaker', 'GPT healed (500 ms)', { ...breaker, durationSec: secs(5) });
    }
    await sim.heal();

    // 4. Context path.
    if (wanted('context')) {
    // Context only in the source of truth (as an ingestion job writes it), plus one hot key.
    const count = short ? 200 : 3000;
    await stack.seedContextStore(Object.fromEntries([...Array.from({ length: count }, (_, i) => [`bench:${i}`, `Context number ${i}.`]), ['bench:hot', 'Hot context.']]));
    let n = 0;
    let m = 0;
    await run('context', 'Redis hit', { url: gw, body: { prompt: 'q', contextKey: 'bench:hot' }, durationSec: secs(10), rate: 50 });
    await run('context', 'DynamoDB fallback + write-back', { url: gw, body: () => ({ prompt: 'q', contextKey: `bench:${n++}` }), durationSec: secs(10), rate: 50 });
    await run('context', 'no context', { url: gw, body: () => ({ prompt: `nothing stored ${m++}` }), durationSec: secs(10), rate: 50 });
    }

    // 5. Soak: steady rate, zero errors expected, memory at start and end.
    if (wanted('soak')) await run('soak', short ? '2 s at 50 req/s' : '180 s at 50 req/s', { url: gw, body: { prompt: 'soak', contextKey: 'bench:hot' }, durationSec: short ? 2 : 180, rate: 50 });
  } finally {
    await direct.proc.stop();
    await stack.stop();
  }
  const report = {
    date: new Date().toISOString(),
    short,
    machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? '?', memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, daprd: execFileSync(daprBin('daprd'), ['--version'], { encoding: 'utf8' }).trim() },
    durationSec: Math.round((Date.now() - started) / 1000),
    results,
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(path.join(outDir, 'latest.md'), markdown(report));
  console.log(`wrote ${path.join(outDir, 'latest.md')} (${report.durationSec} s)`);
}

/** A second gateway that calls ai-core's port directly: the no-sidecar baseline for scenario 1. */
async function startDirectGateway(stack: Stack) {
  const port = await freePort();
  const proc = new ManagedProcess({
    name: 'gateway-direct',
    command: process.execPath,
    args: [path.join(repoRoot, 'gateway-service', 'dist', 'main.js')],
    env: {
      HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
      DAPR_HTTP_PORT: String(stack.sidecar('gateway-service').ports.http), // API keys still come from the secret store
      AI_CORE_DIRECT_URL: stack.appUrl('ai-core-service'),
    },
    logFile: path.join(stack.logDir, 'gateway-direct.log'),
    ready: () => httpOk(`http://127.0.0.1:${port}/readyz`),
  });
  await stack.add('gateway-direct', proc).start();
  return { proc, port };
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
