import type { Logger } from 'pino';
import type { RunningServer } from './http';

/**
 * Process-level wiring shared by both services' main.ts: log fatal errors
 * instead of dying silently, and on SIGTERM/SIGINT run `shutdown` once (turn
 * readiness off, drain, close) and exit.
 */
export function runUntilSignalled(logger: Logger, shutdown: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    shutdown()
      .then(() => process.exit(0))
      .catch((err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
}

/** Readiness flag flipped off at shutdown so load balancers stop sending before we drain. */
export class Readiness {
  private draining = false;
  constructor(private readonly checks: Record<string, () => Promise<boolean>>) {}

  drain(): void {
    this.draining = true;
  }

  async status(): Promise<{ ready: boolean; checks: Record<string, boolean> }> {
    if (this.draining) return { ready: false, checks: { draining: false } };
    const names = Object.keys(this.checks);
    const results = await Promise.all(names.map((n) => this.checks[n]!().catch(() => false)));
    const checks = Object.fromEntries(names.map((n, i) => [n, results[i]!]));
    return { ready: results.every(Boolean), checks };
  }
}

export type { RunningServer };
