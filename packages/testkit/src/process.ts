/**
 * A child process that tests and the dev stack start, stop and restart, with its output in a log file,
 * a readiness probe, and a kill on exit so none outlives the run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { waitFor } from './ports';

export interface ProcessSpec {
  /** Short name for messages and the log file. */
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Where stdout and stderr go (appended across restarts). */
  logFile: string;
  /** Resolves true once the process serves. */
  ready: () => Promise<boolean>;
  readyTimeoutMs?: number;
  /** Run in its own process group and signal the whole group (for launchers such as the Dapr CLI). */
  group?: boolean;
}

const live = new Set<ChildProcess>();
// Last line of defence against orphans when the parent dies without stopping them.
process.once('exit', () => {
  for (const child of live) {
    try {
      process.kill(-child.pid!, 'SIGKILL'); // a group leader takes its children along
    } catch {
      child.kill('SIGKILL');
    }
  }
});

/** A child process that can be started, stopped and restarted by tests and the dev stack. */
export class ManagedProcess {
  private child?: ChildProcess;
  private exited?: Promise<void>;
  /** How the last run ended: exit code, or the signal that ended it. */
  lastExit?: { code: number | null; signal: NodeJS.Signals | null };

  constructor(readonly spec: ProcessSpec) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<this> {
    if (this.running) return this;
    const { spec } = this;
    const fd = openSync(spec.logFile, 'a');
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', fd, fd],
      detached: spec.group ?? false,
    });
    closeSync(fd);
    live.add(child);
    this.child = child;
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        live.delete(child);
        this.lastExit = { code, signal };
        resolve();
      }),
    );
    child.once('error', () => undefined); // surfaced below as "exited before it was ready"
    try {
      await waitFor(spec.name, spec.ready, spec.readyTimeoutMs ?? 30_000, () => this.running);
    } catch (err) {
      await this.stop();
      throw new Error(`${(err as Error).message}\n--- ${spec.logFile} (tail) ---\n${this.logTail()}`, { cause: err });
    }
    return this;
  }

  /** SIGTERM (or `signal`), then SIGKILL after `graceMs`. Resolves once the process is gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const kill = (sig: NodeJS.Signals) => {
      if (this.spec.group && child.pid) process.kill(-child.pid, sig);
      else child.kill(sig);
    };
    kill(signal);
    const timer = setTimeout(() => kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Resolves when the process exits by itself (e.g. after a signal sent elsewhere). */
  async waitExit(): Promise<void> {
    await this.exited;
  }

  async restart(): Promise<this> {
    await this.stop();
    return this.start();
  }

  logTail(lines = 40): string {
    try {
      return readFileSync(this.spec.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}
