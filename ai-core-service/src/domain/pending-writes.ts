/**
 * Work started off the response path but still owned: one task per key at a
 * time (a herd of misses on one key writes back once, not N racing writes),
 * and drain() lets shutdown and tests wait for all of it.
 */
export class PendingWrites {
  private readonly pending = new Map<string, Promise<void>>();

  get size(): number {
    return this.pending.size;
  }

  /** Starts `task` unless one for `key` is still running. `task` must not reject: it logs its own failures. */
  start(key: string, task: () => Promise<void>): void {
    if (this.pending.has(key)) return;
    this.pending.set(
      key,
      task().finally(() => this.pending.delete(key)),
    );
  }

  /** Resolves once every task, including those started meanwhile, has finished. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending.values()]);
  }
}
