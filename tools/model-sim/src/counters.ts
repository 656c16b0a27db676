/** Requests and errors per "<operation> <target>", e.g. "converse us.meta.llama4-…" or "chat gpt-4". */
export interface RouteCount {
  requests: number;
  errors: number;
  /** Requests whose response has not ended yet. */
  open: number;
  /** Requests the client gave up on (connection closed before the response ended): proof of cancellation. */
  abandoned: number;
}

export class Counters {
  private readonly routes = new Map<string, RouteCount>();

  private entry(op: string, target: string): RouteCount {
    const key = `${op} ${target}`;
    let c = this.routes.get(key);
    if (!c) this.routes.set(key, (c = { requests: 0, errors: 0, open: 0, abandoned: 0 }));
    return c;
  }

  request(op: string, target: string): void {
    this.entry(op, target).requests++;
  }

  error(op: string, target: string): void {
    this.entry(op, target).errors++;
  }

  /** Tracks one response from start to close. */
  track(
    op: string,
    target: string,
    res: { once(e: 'close', f: () => void): unknown; writableFinished: boolean },
  ): void {
    const c = this.entry(op, target);
    c.open++;
    res.once('close', () => {
      c.open--;
      if (!res.writableFinished) c.abandoned++;
    });
  }

  snapshot(): Record<string, RouteCount> {
    return Object.fromEntries([...this.routes].map(([k, v]) => [k, { ...v }]));
  }

  reset(): void {
    this.routes.clear();
  }
}
