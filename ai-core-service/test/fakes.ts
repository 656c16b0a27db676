/** Fakes at ai-core's own ports, for unit tests only. */
import { type ModelName, tenantStoreKey } from '@context-qa/common/contract';
import { Readiness } from '@context-qa/common/http';
import { createLogger } from '@context-qa/common/telemetry';
import { createApp } from '../src/app';
import { contextAdmin } from '../src/domain/context-admin';
import type { AnswerDeps } from '../src/domain/answer/pipeline';
import type { Routing } from '../src/domain/routing';
import type { ContextDeps } from '../src/domain/context';
import { PendingWrites } from '../src/domain/pending-writes';
import type {
  AnswerStore,
  CacheEntry,
  ContextCache,
  GenerateRequest,
  GenerateResult,
  ModelProvider,
  Models,
  StoredText,
  StreamEvent,
  TextStore,
} from '../src/domain/ports';
import { GuardedModel } from '../src/adapters/models/guarded';
import { ModelError } from '../src/domain/ports';
import { ModelPool } from '../src/adapters/models/pool';

/** The tenant unit tests ask as (the gateway's decision in production), and where its context key lives in the stores. */
export const TENANT = 't1';
export const inTenant = (key: string): string => tenantStoreKey(TENANT, key);

type StoreOp = 'get' | 'set' | 'delete' | 'read' | 'write';

/** A call parked by hold(): `reached` when it arrives, applied after release(). */
export interface Held {
  reached: Promise<void>;
  release(): void;
}

/**
 * A state store in memory for both roles: source of truth (TextStore) and
 * cache (ContextCache, with state.redis's etag rules: a version per key, an
 * absent key accepts any write). A slow store on demand: hold(op) parks the
 * next call of `op` until release(), so tests interleave calls deterministically.
 */
export class MapStore implements TextStore, ContextCache {
  readonly data = new Map<string, string>();
  readonly ttls = new Map<string, number | undefined>();
  readonly tombstones = new Set<string>();
  /** true: every call fails; an op name: only that op fails. */
  failing: boolean | StoreOp = false;
  private readonly versions = new Map<string, number>();
  private readonly expiries = new Map<string, number>();
  private readonly holds = new Map<StoreOp, { arrived: () => void; released: Promise<void> }>();
  constructor(readonly name = 'fake-store') {}

  hold(op: StoreOp): Held {
    let arrived!: () => void;
    let release!: () => void;
    const reached = new Promise<void>((r) => (arrived = r));
    this.holds.set(op, { arrived, released: new Promise<void>((r) => (release = r)) });
    return { reached, release };
  }

  async get(key: string): Promise<StoredText | undefined> {
    await this.enter('get');
    const text = this.data.get(key);
    const expiresAt = this.expiries.get(key);
    return text === undefined ? undefined : { text, ...(expiresAt !== undefined ? { expiresAt } : {}) };
  }
  async set(key: string, text: string, ttlSeconds?: number) {
    await this.enter('set');
    this.put(key, text, ttlSeconds);
  }
  async delete(key: string) {
    await this.enter('delete');
    for (const m of [this.data, this.ttls, this.versions, this.expiries]) m.delete(key);
    this.tombstones.delete(key);
  }
  async read(key: string): Promise<CacheEntry> {
    await this.enter('read');
    const version = this.versions.get(key);
    if (version === undefined) return { kind: 'absent' };
    const text = this.data.get(key);
    return text === undefined
      ? { kind: 'tombstone', etag: String(version) }
      : { kind: 'text', text, etag: String(version) };
  }
  async write(
    key: string,
    seen: CacheEntry,
    text: string | undefined,
    ttlSeconds: number,
  ): Promise<'written' | 'conflict'> {
    await this.enter('write');
    const version = this.versions.get(key);
    if (version !== undefined && (seen.kind === 'absent' || seen.etag !== String(version))) return 'conflict';
    this.put(key, text, ttlSeconds);
    return 'written';
  }

  /** `text` undefined: a tombstone. */
  private put(key: string, text: string | undefined, ttlSeconds: number | undefined) {
    if (text === undefined) this.data.delete(key);
    else this.data.set(key, text);
    if (text === undefined) this.tombstones.add(key);
    else this.tombstones.delete(key);
    this.ttls.set(key, ttlSeconds);
    if (ttlSeconds) this.expiries.set(key, Date.now() + ttlSeconds * 1000);
    else this.expiries.delete(key);
    this.versions.set(key, (this.versions.get(key) ?? 0) + 1);
  }
  private async enter(op: StoreOp) {
    const held = this.holds.get(op);
    if (held) {
      this.holds.delete(op);
      held.arrived();
      await held.released;
    }
    if (this.failing === true || this.failing === op) throw new Error(`${this.name} down`);
  }
}

/** Context deps over two MapStores, a silent logger and a fresh write-back tracker. */
export function contextDeps(over: Partial<Omit<ContextDeps, 'cache' | 'store'>> = {}) {
  return {
    cache: new MapStore('fake-cache'),
    store: new MapStore('fake-store'),
    cacheTtlSeconds: 60,
    logger: createLogger('test', 'silent'),
    writeBacks: new PendingWrites(),
    ...over,
  };
}

/** A model that answers, fails, or hangs until aborted, and counts its calls. */
export class FakeModel implements ModelProvider {
  calls = 0;
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  delayMs = 0;
  aborted = 0;
  /** Thrown by every call when set (e.g. a bad_request ModelError). */
  failWith?: Error;
  /** Calls whose request matches fail (e.g. only fuse's synthesis call). */
  failWhen?: (req: GenerateRequest) => boolean;
  constructor(readonly name: ModelName) {}
  async generate(req: GenerateRequest, signal: AbortSignal): Promise<GenerateResult> {
    this.calls++;
    if (this.failWith) throw this.failWith;
    if (this.failWhen?.(req)) throw new ModelError('upstream_error', 'failed on purpose');
    if (this.mode === 'fail') throw new ModelError('upstream_error', 'boom');
    if (this.mode === 'hang' || this.delayMs > 0) {
      await new Promise<void>((resolve, reject) => {
        const t = this.mode === 'hang' ? undefined : setTimeout(resolve, this.delayMs);
        signal.addEventListener(
          'abort',
          () => {
            clearTimeout(t);
            this.aborted++;
            reject(new ModelError('cancelled', 'aborted'));
          },
          { once: true },
        );
      });
    }
    return { text: `${this.name} says: ${req.user}`, usage: { inputTokens: 1, outputTokens: 2 }, finishReason: 'stop' };
  }

  /** Fails after this many streamed words (a mid-stream failure), when set. */
  failAfterWords?: number;

  /** The same answer word by word; `delayMs` before the first word, `mode` as for generate. */
  async *stream(req: GenerateRequest, signal: AbortSignal): AsyncIterable<StreamEvent> {
    const { text, usage } = await this.generate(req, signal);
    const words = text.split(/(?<= )/);
    for (const [i, word] of words.entries()) {
      if (this.failAfterWords !== undefined && i >= this.failAfterWords)
        throw new ModelError('upstream_error', 'dropped mid-stream');
      if (signal.aborted) throw new ModelError('cancelled', 'aborted');
      yield { type: 'delta', text: word };
      await new Promise((r) => setImmediate(r));
    }
    yield { type: 'end', finishReason: 'stop', ...(usage ? { usage } : {}) };
  }
}

/** The answer cache's store in memory: counts calls, fails or hangs (until the caller's signal aborts) on demand. */
export class FakeAnswerStore implements AnswerStore {
  readonly name = 'fake-answer-cache';
  readonly data = new Map<string, { value: unknown; ttlSeconds: number }>();
  gets = 0;
  /** 'get' / 'set': that op fails; 'hang': get waits until its signal aborts. */
  mode: 'ok' | 'get' | 'set' | 'hang' = 'ok';
  /** Resolves writes started off the response path (tests await this). */
  written: Promise<void>[] = [];
  async get(key: string, signal?: AbortSignal): Promise<unknown> {
    this.gets++;
    if (this.mode === 'get') throw new Error('answer cache down');
    if (this.mode === 'hang') {
      await new Promise<void>((_r, reject) =>
        signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
      );
    }
    return structuredClone(this.data.get(key)?.value);
  }
  set(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    const p = (async () => {
      if (this.mode === 'set') throw new Error('answer cache down');
      this.data.set(key, { value: structuredClone(value), ttlSeconds });
    })();
    this.written.push(p.catch(() => {}));
    return p;
  }
  settled = () => Promise.all(this.written);
}

/** Breakers that stay closed through a test: the domain's strategies run against real GuardedModels. */
const CLOSED_BREAKER = {
  timeoutMs: 1000,
  errorThresholdPercentage: 50,
  resetTimeoutMs: 60_000,
  volumeThreshold: 100,
  rollingCountTimeoutMs: 10_000,
  maxInFlight: 10,
};

/** Fake gpt4 and llama4, each behind a real GuardedModel, as the domain's Models port (streams stall after 300 ms). */
export function guardedModels() {
  const models = { gpt4: new FakeModel('gpt4'), llama4: new FakeModel('llama4') };
  const guarded = new Map(Object.values(models).map((m) => [m.name, new GuardedModel(m, CLOSED_BREAKER)]));
  const pool: Models = new ModelPool(guarded, 300);
  /** What the answer pipeline needs over these models and `context`, and the routing (gpt4 preferred), with `over` on top. */
  const deps = (context: ContextDeps, over: Partial<AnswerDeps & Routing> = {}): AnswerDeps & Routing => ({
    context,
    models: pool,
    preference: ['gpt4', 'llama4'],
    autoStrategy: 'primary',
    contextBudgetChars: 1000,
    defaultMaxTokens: 100,
    agreementThreshold: 0.8,
    ...over,
  });
  return { models, deps, shutdown: () => guarded.forEach((g) => g.shutdown()) };
}

/** ai-core's HTTP app with quiet defaults at every port; a test passes what it is about. */
export function testApp(over: Partial<Parameters<typeof createApp>[0]> = {}) {
  return createApp({
    logger: createLogger('test', 'silent'),
    readiness: new Readiness({}),
    bodyLimit: '64kb',
    requestTimeoutMs: 5_000,
    contexts: contextAdmin(contextDeps()),
    pipeline: { answer: () => Promise.reject(new Error('answering is not part of this test')) },
    routing: { preference: ['gpt4', 'llama4'], autoStrategy: 'primary' },
    models: [],
    ...over,
  });
}
