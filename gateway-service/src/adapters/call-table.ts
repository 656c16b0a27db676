/**
 * How many model calls a request to each model, alias or strategy can make:
 * ai-core's table (its strategies over its configured models, `max_calls` in
 * its model list), read through the sidecar and refreshed, so a third model in
 * ai-core's MODELS or another CHAT_AUTO_STRATEGY changes what the gateway
 * reserves without a gateway change. Until the first read (or for a name
 * ai-core does not list), `fallback` calls are assumed.
 */
import { AI_CORE_ROUTES, callTableOf } from '@context-qa/common/contract';
import { Deadline } from '@context-qa/common/deadline';
import type { Logger } from '@context-qa/common/telemetry';
import type { AiCore, MaxCalls } from '../domain/ports';
import { refreshLoop } from './refresh-loop';

const READ_BUDGET_MS = 2000;

export class CallTable {
  private calls = new Map<string, number>();
  private loop?: { stop(): void };

  constructor(
    private readonly aiCore: AiCore,
    private readonly fallback: number,
    private readonly logger: Logger,
  ) {}

  maxCalls: MaxCalls = (name) => this.calls.get(name) ?? this.fallback;

  async refresh(): Promise<boolean> {
    try {
      const out = await this.aiCore.send(
        'GET',
        AI_CORE_ROUTES.models.path,
        undefined,
        { requestId: 'call-table' },
        new Deadline(READ_BUDGET_MS),
      );
      const table = out.status === 200 ? callTableOf(out.body) : undefined;
      if (!table) throw new Error(`ai-core answered ${out.status}`);
      this.calls = table;
      return true;
    } catch (err) {
      this.logger.debug({ err }, `ai-core's model list could not be read: assuming ${this.fallback} calls a request`);
      return false;
    }
  }

  /** Reads now (retried every 2 s while it fails), then every `intervalMs`. */
  start(intervalMs: number): void {
    this.loop = refreshLoop(async () => ((await this.refresh()) ? intervalMs : 2000));
  }

  stop(): void {
    this.loop?.stop();
  }
}
