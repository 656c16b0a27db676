/**
 * Per-process CPU time and resident memory read from /proc (Linux), sampled around each bench scenario
 * for the report's CPU% and RSS figures.
 */
import { readFileSync } from 'node:fs';

/** CPU seconds used so far and resident memory of a process, from /proc (Linux). */
export interface ProcSample {
  cpuSeconds: number;
  rssMiB: number;
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    return { cpuSeconds, rssMiB: Math.round((rssKb / 1024) * 10) / 10 };
  } catch {
    return undefined;
  }
}

export interface ProcUsage {
  /** Average share of one core over the interval, in percent. */
  cpuPercent: number;
  rssStartMiB: number;
  rssEndMiB: number;
}

/** Samples every named process, then returns a function that reports usage since then. */
export function watch(pids: Record<string, number>): () => Record<string, ProcUsage> {
  const t0 = performance.now();
  const before = Object.fromEntries(Object.entries(pids).map(([n, p]) => [n, sampleProcess(p)]));
  return () => {
    const seconds = (performance.now() - t0) / 1000;
    const out: Record<string, ProcUsage> = {};
    for (const [name, pid] of Object.entries(pids)) {
      const a = before[name];
      const b = sampleProcess(pid);
      if (!a || !b) continue;
      out[name] = {
        cpuPercent: Math.round(((b.cpuSeconds - a.cpuSeconds) / seconds) * 1000) / 10,
        rssStartMiB: a.rssMiB,
        rssEndMiB: b.rssMiB,
      };
    }
    return out;
  };
}
