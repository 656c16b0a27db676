/**
 * `make bench`: the whole stack locally, load from this separate process, and a
 * report in bench/results/latest.{json,md}. `--short` runs every scenario for a
 * second or two (used by `make test` to prove the benchmark works; no timing asserted).
 * `--only a,b` runs those scenarios; their rows replace the same scenarios' rows
 * in an existing full report in the output directory, the other rows are kept.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI, { AzureOpenAI } from 'openai';
import {
  daprBin,
  DEV_KEYS,
  freePort,
  httpOk,
  ManagedProcess,
  repoRoot,
  serviceApps,
  serviceMain,
  Stack,
} from '@context-qa/testkit';
import { cost, LIMITED, limitedReplica } from './cost';
import { load, type LoadSpec, type LoadStats } from './load';
import { watch, type ProcUsage } from './procstats';
import { markdown, type Report } from './report';
import { tracingOverhead } from './tracing';
import { efficiency } from './efficiency';
import { measureTtft, type TtftExtras, type TtftSpec } from './ttft';

const short = process.argv.includes('--short');
const outDir = argValue('--out') ?? path.join(repoRoot, 'bench', 'results');
const only = argValue('--only');
const secs = (full: number) => (short ? 1 : full);
const wanted = (scenario: string) => !only || only.split(',').includes(scenario);
const LLAMA = 'us.meta.llama4-maverick-17b-instruct-v1:0';
const GPT = 'gpt-4';
/** Report order; `--only` keeps the other scenarios' rows from the previous report. */
export const SCENARIOS = [
  'overhead',
  'parallelism',
  'breaker',
  'context',
  'ttft',
  'soak',
  'cost',
  'tracing',
  'efficiency',
];

/**
 * The TTFT question. The simulator answers "[<model>] No context was provided,
 * here is my answer to: <what ai-core sent as the user message>", and ai-core
 * sends "Question: <question>" (no stored context for it): 11 words + these 49
 * = 60 words, streamed 3 words a chunk = 20 content chunks (tools/model-sim/src/answer.ts),
 * for both models. 196 characters, under the 200 the simulator quotes.
 */
const TTFT_QUESTION = Array.from({ length: 49 }, (_, i) => `w${i + 1}`).join(' ');
const TTFT_CHUNKS = 20;
/** The system message and token cap ai-core sends, so the simulator called directly does the same work. */
const AI_CORE_SYSTEM = 'You are a precise assistant for question answering.';

export interface ScenarioResult extends LoadStats, Partial<TtftExtras> {
  scenario: string;
  variant: string;
  processes: Record<string, ProcUsage>;
  note?: string;
  /** Set on rows kept from an earlier run by `--only`: that run's date. */
  date?: string;
}

/** One load and its report row (a warm-up's is not kept); `on`: the stack whose processes are watched (default the main one). */
export type RunRow = (
  scenario: string,
  variant: string,
  spec: Omit<LoadSpec, 'headers'> & { headers?: Record<string, string> },
  note?: string,
  on?: Stack,
  /** Processes outside the stack to watch too, by name. */
  extra?: Record<string, number>,
) => Promise<ScenarioResult>;

function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const started = Date.now();
  const apps = {
    // On for scenario cost; every other request says Cache-Control: no-cache (see `headers`).
    answerCache: true,
    aiCoreEnv: {
      LOG_LEVEL: 'warn',
      MODEL_TIMEOUT_MS: '1000',
      BREAKER_VOLUME_THRESHOLD: '5',
      BREAKER_RESET_TIMEOUT_MS: '3000',
      BREAKER_ROLLING_WINDOW_MS: '6000',
      // 0.9 × the window must cover the longest call it judges (a stream: the request budget), so the budget is 5 s here.
      REQUEST_TIMEOUT_MS: '5000',
      STREAM_IDLE_TIMEOUT_MS: '2000',
    },
    // Load shedding sized to this 2-core stack: ~500 answers/s flat out (primary) × ~100 ms of acceptable wait.
    gatewayEnv: { LOG_LEVEL: 'warn', MAX_IN_FLIGHT: '64' },
  };
  const stack = await new Stack({
    apps: [
      ...serviceApps(apps),
      // A gateway replica with limits on, for scenario cost; stopped until then.
      ...(wanted('cost') ? [limitedReplica()] : []),
    ],
  }).start();
  if (wanted('cost')) for (const name of [LIMITED, `daprd:${LIMITED}`]) await stack.proc(name).stop();
  const direct = await startDirectGateway(stack);
  const sim = stack.simulator;
  const results: ScenarioResult[] = [];
  try {
    const gw = `${stack.appUrl('gateway-service')}/v1/prompt`;
    const gwDirect = `http://127.0.0.1:${direct.port}/v1/prompt`;
    const auth = { authorization: `Bearer ${DEV_KEYS.ask}` };
    // The answer cache is on (scenario cost), and the other scenarios repeat identical prompts: they
    // skip it, so every request still calls the models through the same code path as with the
    // cache off (ai-core neither reads nor writes it) and their numbers stay comparable with
    // earlier runs. Unique prompts would instead add a cache read and write to every request.
    const headers = { ...auth, 'cache-control': 'no-cache' };
    /** The processes running now (the limited replica only during its rows). */
    const pids = (of: Stack) =>
      Object.fromEntries(
        [...of.processes]
          .filter(([, p]) => p.running && p.pid)
          .map(([n, p]) => [n, p.pid!] as const)
          .concat([['load generator', process.pid]]),
      );
    /** One load; its row is reported unless it is a warm-up. Spec headers replace the default (no-cache) ones. */
    const run: RunRow = async (scenario, variant, spec, note, on = stack, extra = {}) => {
      const done = watch({ ...pids(on), ...extra });
      const stats = await load({ headers, ...spec });
      const row: ScenarioResult = { scenario, variant, ...stats, processes: done(), ...(note ? { note } : {}) };
      if (scenario !== 'warm-up') results.push(row);
      const tally = stats.cache ? ` cache ${JSON.stringify(stats.cache)}` : '';
      console.log(
        `${scenario.padEnd(12)} ${variant.padEnd(34)} ${stats.rps} req/s p50 ${stats.p50} p99 ${stats.p99} errors ${stats.errors + stats.non2xx}${tally}`,
      );
      return row;
    };
    await run('warm-up', 'dapr', { url: gw, body: { prompt: 'warm up' }, durationSec: secs(3), connections: 8 });

    // 1. Overhead of the two sidecar hops: same request, with and without Dapr between the services.
    if (wanted('overhead')) {
      // 200 req/s is about this 2-core stack's capacity: a measurement for the full run, not a
      // pass/fail row for the short one that `make test` runs (its result would depend on the machine's load).
      for (const rate of short ? [50] : [50, 200]) {
        await run('overhead', `dapr, ${rate} req/s`, {
          url: gw,
          body: { prompt: 'overhead' },
          durationSec: secs(10),
          rate,
        });
        await run('overhead', `direct, ${rate} req/s`, {
          url: gwDirect,
          body: { prompt: 'overhead' },
          durationSec: secs(10),
          rate,
        });
      }
      await run('overhead', 'dapr, max (32 connections)', {
        url: gw,
        body: { prompt: 'overhead' },
        durationSec: secs(10),
        connections: 32,
      });
      await run('overhead', 'direct, max (32 connections)', {
        url: gwDirect,
        body: { prompt: 'overhead' },
        durationSec: secs(10),
        connections: 32,
      });
    }

    // 2. Parallelism: Llama 300 ms, GPT 500 ms.
    await sim.setFault(LLAMA, { latencyMs: 300 });
    await sim.setFault(GPT, { latencyMs: 500 });
    if (wanted('parallelism')) {
      for (const strategy of ['sequential', 'both', 'fastest', 'primary', 'fuse']) {
        const variant = strategy === 'fuse' ? 'fuse (drafts differ: synthesised)' : strategy;
        // A synthesised answer takes ~1 s: the short run gives it time to finish a few.
        const durationSec = strategy === 'fuse' && short ? 3 : secs(10);
        await run('parallelism', variant, {
          url: gw,
          body: { prompt: 'parallel', strategy },
          durationSec,
          connections: 10,
        });
      }
      // Drafts that quote a long shared context agree (similarity ≥ 0.8): no synthesis call.
      await stack.seedContextStore({ 'bench:agree': Array.from({ length: 40 }, (_, i) => `fact${i}`).join(' ') });
      const agree = { prompt: 'parallel', strategy: 'fuse', contextKey: 'bench:agree' };
      await run('parallelism', 'fuse (drafts agree)', { url: gw, body: agree, durationSec: secs(10), connections: 10 });
    }

    // 3. Breaker fail-fast: GPT hangs; its breaker (MODEL_TIMEOUT_MS 1000) opens, then GPT heals.
    if (wanted('breaker')) {
      await new Promise((r) => setTimeout(r, short ? 0 : 5500)); // let earlier successes leave the breaker's window
      await sim.setFault(GPT, { hang: true });
      const breaker = { url: gw, body: { prompt: 'breaker' }, rate: 20 };
      await run(
        'breaker',
        'GPT hanging: first 3 s',
        { ...breaker, durationSec: secs(3) },
        'bounded by the 1 s model deadline until the breaker opens',
      );
      await run(
        'breaker',
        'GPT hanging: breaker open',
        { ...breaker, durationSec: secs(5) },
        'Llama-only latency (300 ms) plus a 1 s trial every 3 s',
      );
      await sim.setFault(GPT, { latencyMs: 500 });
      await new Promise((r) => setTimeout(r, short ? 0 : 3500)); // BREAKER_RESET_TIMEOUT_MS: half-open, then closed
      await run('breaker', 'GPT healed (500 ms)', { ...breaker, durationSec: secs(5) });
    }
    await sim.heal();

    // 4. Context path.
    if (wanted('context')) {
      // Context only in the source of truth (as an ingestion job writes it), plus one hot key.
      const count = short ? 200 : 3000;
      await stack.seedContextStore(
        Object.fromEntries([
          ...Array.from({ length: count }, (_, i) => [`bench:${i}`, `Context number ${i}.`] as const),
          ['bench:hot', 'Hot context.'] as const,
        ]),
      );
      let n = 0;
      let m = 0;
      await run('context', 'Redis hit', {
        url: gw,
        body: { prompt: 'q', contextKey: 'bench:hot' },
        durationSec: secs(10),
        rate: 50,
      });
      await run('context', 'DynamoDB fallback + write-back', {
        url: gw,
        body: () => ({ prompt: 'q', contextKey: `bench:${n++}` }),
        durationSec: secs(10),
        rate: 50,
      });
      await run('context', 'no context', {
        url: gw,
        body: () => ({ prompt: `nothing stored ${m++}` }),
        durationSec: secs(10),
        rate: 50,
      });
    }

    // 5. Time to first token and to the last one, streamed and not, through both sidecars, with
    // no sidecar (gateway → ai-core's port) and from the simulator itself (what any client of the
    // model would see: the floor). Both models: 300 ms to first byte, 20 chunks 20 ms apart.
    if (wanted('ttft')) {
      const ttftFaults = short ? { first: 30, gap: 2 } : { first: 300, gap: 20 };
      const streamFault = { latencyMs: ttftFaults.first, chunkDelayMs: ttftFaults.gap };
      // A model takes as long to generate an answer it does not stream: the whole JSON after the
      // time the last chunk would have taken (300 + 19 × 20 = 680 ms).
      const wholeFault = { latencyMs: ttftFaults.first + (TTFT_CHUNKS - 1) * ttftFaults.gap };
      // no-cache: a repeated non-streamed question would otherwise be an answer-cache hit (streams never are).
      const gateway = (baseURL: string) =>
        new OpenAI({ baseURL, apiKey: DEV_KEYS.ask, maxRetries: 0, defaultHeaders: { 'cache-control': 'no-cache' } });
      const paths = [
        ['dapr', gateway(`${stack.appUrl('gateway-service')}/v1`)],
        ['direct', gateway(`http://127.0.0.1:${direct.port}/v1`)],
      ] as const;
      const simulator = new AzureOpenAI({
        endpoint: stack.simulatorUrl,
        deployment: GPT,
        apiVersion: '2024-10-21',
        apiKey: 'simulated',
        maxRetries: 0,
      });
      const bounds = { requests: short ? 2 : 30, maxSeconds: short ? 5 : 45, warmup: short ? 0 : 3 };
      const ttft = async (variant: string, spec: Omit<TtftSpec, keyof typeof bounds>) => {
        const done = watch(pids(stack));
        const { firstError, ...stats } = await measureTtft({ ...spec, ...bounds });
        const chunksNote =
          spec.stream && stats.requests > stats.errors && stats.chunks !== TTFT_CHUNKS
            ? `${stats.chunks} content chunks, not ${TTFT_CHUNKS}`
            : undefined;
        const note = [chunksNote, firstError && `first error: ${firstError}`].filter(Boolean).join('; ');
        results.push({ scenario: 'ttft', variant, ...stats, processes: done(), ...(note ? { note } : {}) });
        const first = stats.ttft ? `first p50 ${stats.ttft.p50} p99 ${stats.ttft.p99}, ` : '';
        console.log(
          `${'ttft'.padEnd(12)} ${variant.padEnd(34)} ${first}last p50 ${stats.p50} p99 ${stats.p99} (${stats.requests} requests, ${stats.chunks} chunks) errors ${stats.errors}`,
        );
      };
      for (const stream of [true, false]) {
        const fault = stream ? streamFault : wholeFault;
        await sim.setFault(GPT, fault);
        await sim.setFault(LLAMA, fault);
        const kind = stream ? 'stream' : 'whole JSON';
        for (const [name, client] of paths) {
          for (const model of ['primary', 'fastest']) {
            await ttft(`${name}, ${model}, ${kind}`, {
              client,
              model,
              stream,
              messages: [{ role: 'user', content: TTFT_QUESTION }],
            });
          }
        }
        await ttft(`simulator (Azure ${GPT}), ${kind}`, {
          client: simulator,
          model: GPT,
          stream,
          maxTokens: 512,
          messages: [
            { role: 'system', content: AI_CORE_SYSTEM },
            { role: 'user', content: `Question: ${TTFT_QUESTION}` },
          ],
        });
      }
      await sim.heal();
    }

    // 6. Soak: steady rate, zero errors expected, memory at start and end.
    if (wanted('soak'))
      await run('soak', short ? '2 s at 50 req/s' : '180 s at 50 req/s', {
        url: gw,
        body: { prompt: 'soak', contextKey: 'bench:hot' },
        durationSec: short ? 2 : 180,
        rate: 50,
      });

    // 7. What the answer cache saves and what per-key limits cost (bench/src/cost.ts).
    if (wanted('cost')) await cost({ stack, short, auth, noCache: headers, run, models: [LLAMA, GPT] });

    // 8. What tracing costs: the same load with tracing off and on (bench/src/tracing.ts).
    if (wanted('tracing')) await tracingOverhead({ short, run, gateway: gw, apps });

    // 9. What one answer costs per process, the capacity, and overload refused fast (bench/src/efficiency.ts).
    if (wanted('efficiency')) await efficiency({ stack, short, run, gateway: gw });
  } finally {
    await direct.proc.stop();
    await stack.stop();
  }
  const report: Report = {
    date: new Date().toISOString(),
    short,
    machine: {
      cores: os.cpus().length,
      cpu: os.cpus()[0]?.model ?? '?',
      memGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      daprd: execFileSync(daprBin('daprd'), ['--version'], { encoding: 'utf8' }).trim(),
    },
    durationSec: Math.round((Date.now() - started) / 1000),
    results,
  };
  mergeWithPrevious(report);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(path.join(outDir, 'latest.md'), markdown(report));
  console.log(`wrote ${path.join(outDir, 'latest.md')} (${report.durationSec} s)`);
}

/**
 * `--only`: keep the rows of the scenarios not run from the report already in the
 * output directory (a run of the same kind on the same machine and versions), so
 * refreshing one scenario does not throw the others away. The report says which
 * rows come from which run.
 */
function mergeWithPrevious(report: Report): void {
  const file = path.join(outDir, 'latest.json');
  if (!only || !existsSync(file)) return;
  const previous = JSON.parse(readFileSync(file, 'utf8')) as Report;
  if (previous.short !== report.short) return;
  if (JSON.stringify(previous.machine) !== JSON.stringify(report.machine)) {
    console.log(`not keeping the other rows of ${file}: measured on another machine or versions`);
    return;
  }
  const ran = new Set(report.results.map((r) => r.scenario));
  const kept = previous.results.filter((r) => !ran.has(r.scenario));
  if (kept.length === 0) return;
  const order = (s: string) => (SCENARIOS.includes(s) ? SCENARIOS.indexOf(s) : SCENARIOS.length);
  // Array.prototype.sort is stable: rows keep their order within a scenario.
  report.results = [...kept.map((r) => ({ ...r, date: r.date ?? previous.date })), ...report.results].sort(
    (a, b) => order(a.scenario) - order(b.scenario),
  );
}

/** A second gateway that calls ai-core's port directly: the no-sidecar baseline for scenario 1. */
async function startDirectGateway(stack: Stack) {
  const port = await freePort();
  // A test hook, not a setting: only the gateway's main-with-test-hooks.js takes a direct URL.
  const direct = serviceMain('gateway-service', { aiCoreDirectUrl: stack.appUrl('ai-core-service') });
  const proc = new ManagedProcess({
    name: 'gateway-direct',
    command: process.execPath,
    args: [direct.script],
    env: {
      HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
      DAPR_HTTP_PORT: String(stack.sidecar('gateway-service').ports.http), // API keys still come from the secret store
      ...direct.env,
      LOCAL_DEV: 'true', // the bench asks with the dev keys
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
