/**
 * The benchmark report as markdown (bench/results/latest.md): the machine, one row per load scenario with
 * CPU% per process, and the time-to-first-token, cost and efficiency tables.
 */
import { costTable } from './cost';
import { efficiencyTable } from './efficiency-report';
import { LOAD_HEAD, loadCells, markdownTable } from './markdown';
import type { ScenarioResult } from './run';

export interface Report {
  date: string;
  short: boolean;
  machine: { cores: number; cpu: string; memGiB: number; node: string; daprd: string };
  durationSec: number;
  results: ScenarioResult[];
}

const PROCS = [
  'gateway-service',
  'daprd:gateway-service',
  'daprd:ai-core-service',
  'ai-core-service',
  'model-sim',
  'redis',
  'dynalite',
  'gateway-direct',
  'load generator',
];
const short = (name: string) =>
  name
    .replace('daprd:gateway-limited', 'daprd(gw-limited)')
    .replace('daprd:gateway-service', 'daprd(gw)')
    .replace('daprd:ai-core-service', 'daprd(ai)')
    .replace('-service', '');

/** The markdown tables for docs/benchmarks.md: one row per scenario run, CPU% per process; time to first token and cost apart. */
export function markdown(r: Report): string {
  const loadRows = r.results.filter(
    (x) => x.scenario !== 'ttft' && x.scenario !== 'cost' && x.scenario !== 'efficiency',
  );
  const procs = PROCS.filter((p) => loadRows.some((x) => x.processes[p]));
  const head = ['scenario', 'variant', ...LOAD_HEAD, ...procs.map((p) => `${short(p)} CPU%`)];
  const rows = loadRows.map((x) => [
    x.scenario,
    x.variant,
    ...loadCells(x),
    ...procs.map((p) => x.processes[p]?.cpuPercent ?? ''),
  ]);
  const soak = r.results.find((x) => x.scenario === 'soak');
  const rss = soak
    ? procs.map((p) => `${short(p)} ${soak.processes[p]?.rssStartMiB} → ${soak.processes[p]?.rssEndMiB}`).join(', ')
    : '';
  const ttftRows = r.results.filter((x) => x.scenario === 'ttft');
  const costRows = r.results.filter((x) => x.scenario === 'cost');
  const efficiencyRows = r.results.filter((x) => x.scenario === 'efficiency');
  return [
    `Benchmark ${r.short ? '(short smoke run, not for numbers) ' : ''}of ${r.date.slice(0, 10)}: ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.memGiB} GiB, Node ${r.machine.node}, daprd ${r.machine.daprd}; ${r.durationSec} s ${r.results.some((x) => x.date) ? 'for this run' : 'in all'}.`,
    ...keptFrom(r),
    '',
    ...(loadRows.length
      ? [
          `| ${head.join(' | ')} |`,
          `| ${head.map(() => '---').join(' | ')} |`,
          ...rows.map((row) => `| ${row.join(' | ')} |`),
          '',
        ]
      : []),
    soak ? `Soak RSS (MiB, start → end): ${rss}.` : '',
    '',
    ...(ttftRows.length ? ttftTable(ttftRows) : []),
    ...(costRows.length ? costTable(costRows, short) : []),
    ...(efficiencyRows.length ? efficiencyTable(efficiencyRows, short) : []),
  ].join('\n');
}

/** Rows that `--only` kept from earlier runs, by run. */
function keptFrom(r: Report): string[] {
  const byDate = new Map<string, Set<string>>();
  for (const x of r.results) if (x.date) byDate.set(x.date, (byDate.get(x.date) ?? new Set()).add(x.scenario));
  return [...byDate].map(
    ([date, s]) =>
      `Rows of ${[...s].join(', ')} are from the run of ${date.slice(0, 10)} (same machine); the others from this one.`,
  );
}

const ms = (x: number | undefined) => (x === undefined ? '' : String(Math.round(x)));
const plus = (x: number) => `${x >= 0 ? '+' : ''}${Math.round(x)}`;

/**
 * Time to first token: one row per path × alias × stream/whole. "Last" is the
 * end of the stream ([DONE]) or the whole JSON answer. The overhead column is
 * this row's p50 minus the simulator's own (called directly, same kind).
 */
function ttftTable(rows: ScenarioResult[]): string[] {
  const sim = (stream: boolean) => rows.find((x) => x.variant.startsWith('simulator') && !!x.ttft === stream);
  const head = [
    'variant',
    'requests',
    'first token p50 ms',
    'first token p99 ms',
    'last token / whole p50 ms',
    'last / whole p99 ms',
    'p50 over the simulator ms',
    'content chunks',
    'chunk gap p50 ms',
    'answered by',
    'errors',
  ];
  const answered = (x: ScenarioResult | undefined) => !!x && x.requests > x.errors + x.non2xx;
  const overSimulator = (x: ScenarioResult, base: ScenarioResult): string => {
    const last = plus(x.p50 - base.p50);
    return x.ttft && base.ttft ? `${plus(x.ttft.p50 - base.ttft.p50)} first, ${last} last` : last;
  };
  const body = rows.map((x) => {
    const errors = x.errors + x.non2xx;
    if (!answered(x)) return [x.variant, x.requests, '—', '—', '—', '—', '—', '', '', '', `${errors} (all)`];
    const base = sim(!!x.ttft);
    const over = !answered(base) || base === x ? '—' : overSimulator(x, base!);
    const by = Object.entries(x.answeredBy ?? {})
      .map(([m, n]) => `${m} ${n}`)
      .join(', ');
    return [
      x.variant,
      x.requests,
      ms(x.ttft?.p50),
      ms(x.ttft?.p99),
      ms(x.p50),
      ms(x.p99),
      over,
      x.ttft ? x.chunks : '',
      x.ttft ? x.gapP50 : '',
      by,
      errors,
    ];
  });
  const notes = rows.flatMap((x) => {
    const failed = x.errors + x.non2xx;
    const partly = failed > 0 && answered(x) ? `percentiles over the ${x.requests - failed} answered requests` : '';
    const note = [partly, x.note].filter(Boolean).join('; ');
    return note ? [`${x.variant}: ${note}.`] : [];
  });
  return markdownTable(
    'Time to first token (scenario ttft; sequential requests, so p99 of 30 is the slowest one):',
    head,
    body,
    notes,
  );
}
