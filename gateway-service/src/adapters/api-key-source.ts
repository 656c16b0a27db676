import type { Logger } from '@context-qa/common';
import { apiKeyListSchema, type ApiKeyEntry } from '../domain/api-keys';

/**
 * Holds the API-key list read from the secret store and re-reads it on an
 * interval, so keys rotate without a restart. A failed refresh keeps the last
 * good list; until the first read succeeds, readiness is false.
 */
export class ApiKeySource {
  private entries?: readonly ApiKeyEntry[];
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly read: () => Promise<string | undefined>,
    private readonly logger: Logger,
  ) {}

  get loaded(): boolean {
    return this.entries !== undefined;
  }

  list(): readonly ApiKeyEntry[] {
    return this.entries ?? [];
  }

  async refresh(): Promise<void> {
    try {
      const raw = await this.read();
      if (raw === undefined) throw new Error('API-key secret is missing');
      this.entries = apiKeyListSchema.parse(JSON.parse(raw));
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'could not load API keys');
    }
  }

  /** First read now (retried every second until it works), then every `intervalMs`. */
  start(intervalMs: number): void {
    const tick = async () => {
      await this.refresh();
      this.timer = setTimeout(tick, this.loaded ? intervalMs : 1000).unref();
    };
    void tick();
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}
