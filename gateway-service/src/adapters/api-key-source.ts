/**
 * The gateway's API-key list from the secret store, re-read on an interval so keys rotate and are revoked
 * without a restart; bad entries are skipped and a failed read keeps the last good list.
 */
import type { Logger } from '@context-qa/common/telemetry';
import { apiKeyEntrySchema, type ApiKeyEntry } from '../domain/api-keys';
import { refreshLoop } from './refresh-loop';

export interface ApiKeySourceOptions {
  /** Past this age without a good read, readiness turns false (the list may be outdated). */
  maxStalenessMs: number;
  /** Called with how many entries of a read list were malformed and skipped. */
  onSkipped?: (count: number) => void;
  /** Hashes no entry may have here (the published dev keys outside local dev): such entries are skipped. */
  refusedHashes?: ReadonlySet<string>;
  now?: () => number;
}

/**
 * Holds the API-key list read from the secret store and re-reads it on an
 * interval, so keys rotate without a restart.
 * - A missing secret (reader answers undefined) is an empty list: deleting the
 *   secret revokes every key.
 * - A malformed entry is skipped (and logged); the others stay valid. So is an
 *   entry with a refused hash (a published dev key outside local dev), and an
 *   entry whose id an earlier entry has: limits and usage are kept per id, so
 *   two keys under one id would share a budget and show each other's usage.
 *   The first keeps working: one mistaken entry must not lock out a working key.
 * - A failed read, or a value that is not a JSON list, keeps the last good list:
 *   a sidecar hiccup must not lock every caller out.
 */
export class ApiKeySource {
  private entries?: readonly ApiKeyEntry[];
  private loadedAt?: number;
  private readonly createdAt: number;
  private loop?: { stop(): void };
  private readonly now: () => number;

  constructor(
    private readonly read: () => Promise<string | undefined>,
    private readonly logger: Logger,
    private readonly options: ApiKeySourceOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.createdAt = this.now();
  }

  get loaded(): boolean {
    return this.entries !== undefined;
  }

  /** Milliseconds since the last good read; undefined before the first. */
  get ageMs(): number | undefined {
    return this.loadedAt === undefined ? undefined : this.now() - this.loadedAt;
  }

  /** Milliseconds since the last good read, or since this source was created before the first: a list never read ages too. */
  get unreadForMs(): number {
    return this.now() - (this.loadedAt ?? this.createdAt);
  }

  /** Loaded, and refreshed within the allowed staleness. */
  get fresh(): boolean {
    const age = this.ageMs;
    return age !== undefined && age <= this.options.maxStalenessMs;
  }

  /** The current list; undefined until the first good read (callers answer 503, not 401). */
  list(): readonly ApiKeyEntry[] | undefined {
    return this.entries;
  }

  async refresh(): Promise<void> {
    let raw: string | undefined;
    let parsed: unknown;
    try {
      raw = await this.read();
      parsed = raw === undefined ? [] : JSON.parse(raw);
      if (!Array.isArray(parsed)) throw new Error('the API-key secret is not a JSON list');
    } catch (err) {
      this.logger.error(
        { err: (err as Error).message, ageMs: this.ageMs },
        'could not load API keys; keeping the last good list',
      );
      return;
    }
    if (raw === undefined) this.logger.warn('API-key secret is missing: every API key is revoked');
    this.entries = this.validEntries(parsed);
    this.loadedAt = this.now();
  }

  private validEntries(items: unknown[]): ApiKeyEntry[] {
    const valid: ApiKeyEntry[] = [];
    /** The index of the entry each kept id came from. */
    const firstIndexOf = new Map<string, number>();
    let skipped = 0;
    items.forEach((item, index) => {
      const result = apiKeyEntrySchema.safeParse(item);
      const id = (item as { id?: unknown } | null)?.id;
      const keyId = typeof id === 'string' ? { keyId: id.slice(0, 64) } : {};
      const skip = (fields: object, msg: string) => {
        skipped++;
        this.logger.error({ index, ...keyId, ...fields }, msg);
      };
      if (!result.success)
        return skip(
          { issues: result.error.issues.map((i) => `${i.path.join('.') || '(entry)'}: ${i.message}`) },
          'malformed API-key entry skipped',
        );
      if (this.options.refusedHashes?.has(result.data.sha256))
        return skip({}, 'API-key entry with a published dev key skipped: dev keys work only in local dev (LOCAL_DEV)');
      const firstIndex = firstIndexOf.get(result.data.id);
      if (firstIndex !== undefined)
        return skip({ firstIndex }, 'API-key entry with a duplicate id skipped: ids must be unique');
      firstIndexOf.set(result.data.id, index);
      valid.push(result.data);
    });
    if (skipped > 0) this.options.onSkipped?.(skipped);
    return valid;
  }

  /** First read now (retried every second until it works), then every `intervalMs`. */
  start(intervalMs: number): void {
    this.loop = refreshLoop(async () => {
      await this.refresh();
      return this.loaded ? intervalMs : 1000;
    });
  }

  stop(): void {
    this.loop?.stop();
  }
}
