/** Requests and errors per "<operation> <target>", e.g. "converse us.meta.llama4-…" or "chat gpt-4". */
export interface RouteCount {
  requests: number;
  errors: number;
}

export class Counters {
  private readonly routes = new Map<string, RouteCount>();

  private entry(op: string, target: string): RouteCount {
    const key = `${op} ${target}`;
    let c = this.routes.get(key);
    if (!c) this.routes.set(key, (c = { requests: 0, errors: 0 }));
    return c;
  }

  request(op: string, target: string): void {
    this.entry(op, target).requests++;
  }

  error(op: string, target: string): void {
    this.entry(op, target).errors++;
  }

  snapshot(): Record<string, RouteCount> {
    return Object.fromEntries([...this.routes].map(([k, v]) => [k, { ...v }]));
  }

  reset(): void {
    this.routes.clear();
  }
}
