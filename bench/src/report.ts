import type { ScenarioResult } from './run';

interface Report {
  date: string;
  short: boolean;
  machine: { cores: number; cpu: string; memGiB: number; node: string; daprd: string };
  durationSec: number;
  results: ScenarioResult[];
}

const PROCS = ['gateway-service', 'daprd:gateway-service', 'daprd:ai-core-service', 'ai-core-service', 'model-sim', 'redis', 'dynalite', 'gateway-direct', 'load generator'];
const short = (name: string) => name.replace('daprd:gateway-service', 'daprd(gw)').replace('daprd:ai-core-service', 'daprd(ai)').replace('-service', '');

/** The markdown table for README.md: one row per scenario run, CPU% per process. */
export function markdown(r: Report): string {
  const procs = PROCS.filter((p) => r.results.some((x) => x.processes[p]));
  const head = ['scenario', 'variant', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'errors', ...procs.map((p) => `${short(p)} CPU%`)];
  const rows = r.results.map((x) => [
    x.scenario, x.variant, x.rps, x.p50, x.p90, x.p99, x.max, x.errors + x.non2xx,
    ...procs.map((p) => x.processes[p]?.cpuPercent ?? ''),
  ]);
  const soak = r.results.find((x) => x.scenario === 'soak');
  const rss = soak
    ? procs.map((p) => `${short(p)} ${soak.processes[p]?.rssStartMiB} → ${soak.processes[p]?.rssEndMiB}`).join(', ')
    : '';
  return [
    `Benchmark ${r.short ? '(short smoke run, not for numbers) ' : ''}of ${r.date.slice(0, 10)}: ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.memGiB} GiB, Node ${r.machine.node}, daprd ${r.machine.daprd}; ${r.durationSec} s in all.`,
    '',
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
    '',
    soak ? `Soak RSS (MiB, start → end): ${rss}.` : '',
    '',
  ].join('\n');
}
