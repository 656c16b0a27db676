/**
 * The cluster's processes: each in its own process group (so a component's children
 * die with it), output to a log file in the run's directory, and all killed when the
 * run stops, or by a watchdog when the test process dies without stopping them
 * (Ctrl-C, a CI timeout, a crash: jest's sandboxed `process` gets no signals or exit).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '@context-qa/testkit';

export interface Started {
  name: string;
  log: string;
  child: ChildProcess;
}

const running = new Set<Started>();

/**
 * A shell that outlives this process: once it is gone, SIGKILLs every process group
 * listed in <dir>/pgids, runs the `cleanup` script if given (what process groups cannot
 * undo: containers, mounts, network devices, firewall rules), and removes <dir> (unless
 * `keep`). Returns a stop function.
 */
export function startWatchdog(dir: string, keep: boolean, cleanup?: string): () => void {
  const script = `
    while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done
    [ -f pgids ] && while read -r g; do kill -KILL -- "-$g" 2>/dev/null; done < pgids
    ${cleanup ? `bash '${cleanup}' >>'${dir}/cleanup.log' 2>&1` : ''}
    ${keep ? '' : `cd / && rm -rf --one-file-system '${dir}'`}`;
  const dog = spawn('bash', ['-c', script], { cwd: dir, detached: true, stdio: 'ignore' });
  dog.unref();
  return () => {
    try {
      if (dog.pid !== undefined) process.kill(-dog.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
}

function killGroup(p: Started, signal: NodeJS.Signals): void {
  if (p.child.pid === undefined || p.child.exitCode !== null || p.child.signalCode !== null) return;
  try {
    process.kill(-p.child.pid, signal);
  } catch {
    // already gone
  }
}

export function start(
  dir: string,
  name: string,
  bin: string,
  args: string[],
  env: Record<string, string> = {},
): Started {
  const log = path.join(dir, `${name}.log`);
  const fd = openSync(log, 'a');
  const child = spawn(bin, args, {
    cwd: dir,
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { PATH: process.env['PATH'] ?? '', HOME: dir, ...env },
  });
  const p = { name, log, child };
  running.add(p);
  if (child.pid !== undefined) appendFileSync(path.join(dir, 'pgids'), `${child.pid}\n`);
  child.on('exit', () => running.delete(p));
  return p;
}

/** SIGTERM every group (default: all still running, the last started first), SIGKILL what is left after `graceMs`. */
export async function stopAll(procs: Started[] = [...running].reverse(), graceMs = 5000): Promise<void> {
  const alive = procs.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
  const exited = alive.map((p) => new Promise<void>((resolve) => p.child.once('exit', () => resolve())));
  for (const p of alive) killGroup(p, 'SIGTERM');
  const timer = setTimeout(() => alive.forEach((p) => killGroup(p, 'SIGKILL')), graceMs);
  await Promise.all(exited);
  clearTimeout(timer);
}

/**
 * One at a time, the last started first, each given `graceMs` after SIGTERM: a component
 * stops while what it talks to still answers (kube-apiserver before etcd), so none waits out
 * its grace period on a dead peer.
 */
export async function stopEach(graceMs = 5000): Promise<void> {
  for (const p of [...running].reverse()) await stopAll([p], graceMs);
}

/** The last lines of a component's log, for a failure message. */
export function tail(p: Started, lines = 30): string {
  return readFileSync(p.log, 'utf8').split('\n').slice(-lines).join('\n');
}

/** Thrown by a waitFor check: waiting longer cannot help. */
export class GiveUp extends Error {}

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes; fails early if `proc` exits or `check` throws GiveUp. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  proc?: Started,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    if (proc && (proc.child.exitCode !== null || proc.child.signalCode !== null))
      throw new Error(`${proc.name} exited while waiting for ${what}:\n${tail(proc)}`);
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}${proc ? `\n${tail(proc)}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** `n` free loopback ports from the testkit's allocator (outside the ephemeral range, never handed out twice). */
export async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < n; i++) ports.push(await freePort());
  return ports;
}
