/** Fakes at ai-core's own ports, for unit tests only. */
import type { GenerateRequest, GenerateResult, ModelProvider, TextStore } from '../src/domain/ports';
import { ModelError } from '../src/domain/ports';
import type { ModelName } from '@context-qa/common';

export class MapStore implements TextStore {
  readonly data = new Map<string, string>();
  readonly ttls = new Map<string, number | undefined>();
  failing = false;
  async get(key: string) {
    if (this.failing) throw new Error('store down');
    return this.data.get(key);
  }
  async set(key: string, text: string, ttlSeconds?: number) {
    if (this.failing) throw new Error('store down');
    this.data.set(key, text);
    this.ttls.set(key, ttlSeconds);
  }
  async delete(key: string) {
    if (this.failing) throw new Error('store down');
    this.data.delete(key);
  }
}

/** A model that answers, fails, or hangs until aborted, and counts its calls. */
export class FakeModel implements ModelProvider {
  calls = 0;
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  delayMs = 0;
  aborted = 0;
  /** Thrown by every call when set (e.g. a bad_request ModelError). */
  failWith?: Error;
  constructor(readonly name: ModelName) {}
  async generate(req: GenerateRequest, signal: AbortSignal): Promise<GenerateResult> {
    this.calls++;
    if (this.failWith) throw this.failWith;
    if (this.mode === 'fail') throw new ModelError('upstream_error', 'boom');
    if (this.mode === 'hang' || this.delayMs > 0) {
      await new Promise<void>((resolve, reject) => {
        const t = this.mode === 'hang' ? undefined : setTimeout(resolve, this.delayMs);
        signal.addEventListener('abort', () => {
          clearTimeout(t);
          this.aborted++;
          reject(new ModelError('cancelled', 'aborted'));
        }, { once: true });
      });
    }
    return { text: `${this.name} says: ${req.user}`, usage: { inputTokens: 1, outputTokens: 2 } };
  }
}
