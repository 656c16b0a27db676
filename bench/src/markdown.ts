/** Markdown tables of the bench report. */
import type { LoadStats } from './load';

/** The load columns every latency table starts with, and a row's cells for them. */
export const LOAD_HEAD = ['req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'errors'];
export const loadCells = (x: LoadStats): unknown[] => [x.rps, x.p50, x.p90, x.p99, x.max, x.errors + x.non2xx];

/** A titled Markdown table with its notes below, as report lines. */
export function markdownTable(title: string, head: string[], body: unknown[][], notes: string[]): string[] {
  return [
    title,
    '',
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...body.map((row) => `| ${row.join(' | ')} |`),
    '',
    ...(notes.length ? [...notes, ''] : []),
  ];
}
