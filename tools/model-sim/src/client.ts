/** A client of the simulator's admin API (faults and counters), for tests, the bench and the test stack. */
import type { RouteCount } from './counters';
import type { Fault } from './faults';

/** The simulator's admin API, for tests, benchmarks and the dev stack. */
export class SimulatorAdmin {
  constructor(private readonly baseUrl: string) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    });
    const json = (await res.json()) as T & { message?: string };
    if (!res.ok) throw new Error(`simulator admin ${method} ${path}: ${res.status} ${json.message ?? ''}`);
    return json;
  }

  counters = () => this.call<Record<string, RouteCount>>('GET', '/admin/counters');
  resetCounters = () => this.call<object>('DELETE', '/admin/counters');
  faults = () => this.call<Record<string, Fault>>('GET', '/admin/faults');
  setFault = (target: string, fault: Fault) =>
    this.call<object>('PUT', `/admin/faults/${encodeURIComponent(target)}`, fault);
  clearFault = (target: string) => this.call<object>('DELETE', `/admin/faults/${encodeURIComponent(target)}`);
  /** Every target healthy again. */
  heal = () => this.call<object>('DELETE', '/admin/faults');

  /** One operation and target's counters (zeros if never called). */
  async route(op: string, target: string): Promise<RouteCount> {
    return (await this.counters())[`${op} ${target}`] ?? { requests: 0, errors: 0, open: 0, abandoned: 0 };
  }

  /** Requests seen for one operation and target ("converse", "us.meta…"), 0 if none. */
  async requests(op: string, target: string): Promise<number> {
    return (await this.counters())[`${op} ${target}`]?.requests ?? 0;
  }
}
