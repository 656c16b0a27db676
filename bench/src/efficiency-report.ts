/**
 * The `efficiency` scenario's table in the benchmark report (report.ts): latency over the simulator,
 * answered vs refused, and CPU-ms per answer for each of our processes against the bare-proxy floor.
 */
import { cpuMsPerAnswer, FLOOR } from './efficiency';
import { markdownTable } from './markdown';
import type { ScenarioResult } from './run';

/** Our processes, in request order; the simulator and the load generator stand apart (not ours). */
const OURS = [
  'gateway-service',
  'daprd:gateway-service',
  'daprd:ai-core-service',
  'ai-core-service',
  'redis',
  'dynalite',
];

/** Scenario efficiency: latency, answered/refused, and CPU-ms per answer per process (sum over ours). */
export function efficiencyTable(rows: ScenarioResult[], label: (proc: string) => string): string[] {
  const direct = rows.find((x) => x.variant.startsWith('simulator direct'));
  const isFloor = (x: ScenarioResult) => x.variant.startsWith(FLOOR);
  const head = [
    'variant',
    'req/s',
    'p50 ms',
    'p99 ms',
    'over the simulator p50 / p99 ms',
    'answered',
    'refused (503)',
    'refused p99 ms',
    ...OURS.map((p) => `${label(p)} CPU-ms`),
    'ours CPU-ms / answer',
    'bare proxy CPU-ms',
  ];
  const body = rows.map((x) => {
    const cpu = cpuMsPerAnswer(x);
    const reference = x === direct || isFloor(x); // not through our processes
    const ours = reference ? '' : Math.round(OURS.reduce((sum, p) => sum + (cpu[p] ?? 0), 0) * 100) / 100;
    const over = !direct || x === direct ? '' : `${x.p50 - direct.p50} / ${x.p99 - direct.p99}`;
    const refused = x.split?.refused;
    return [
      x.variant,
      x.rps,
      x.p50,
      x.p99,
      over,
      x.requests - x.errors - x.non2xx,
      refused ? `${refused.count} (${refused.withRetryAfter} with Retry-After)` : x.non2xx,
      refused?.p99 ?? '',
      ...OURS.map((p) => (reference ? '' : (cpu[p] ?? ''))),
      ours,
      cpu[FLOOR] ?? '',
    ];
  });
  return markdownTable("Efficiency (`primary`, answer cache bypassed): one answer's cost and overload", head, body, [
    "CPU-ms per answer: each process's CPU time over the row divided by the answers it gave. Latency over the simulator: this row's p50/p99 minus the simulator called directly at the same rate. The floor row: a bare node:http keep-alive proxy (bench/src/floor-proxy.ts) in front of the simulator, the least one Node hop costs on this machine.",
  ]);
}
