/** What the domain needs from the outside world; adapters implement these. */
import type { ModelName } from '@context-qa/common';

/** A Dapr state store seen as a key → text map (the cache or the source of truth). */
export interface TextStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, text: string, ttlSeconds?: number): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface GenerateRequest {
  system: string;
  user: string;
  maxTokens: number;
}

export interface GenerateResult {
  text: string;
  usage?: { inputTokens: number; outputTokens: number };
}

/** The small, SDK-free set of ways a model call fails. */
export type ModelErrorKind = 'timeout' | 'rate_limited' | 'unauthorized' | 'bad_request' | 'upstream' | 'circuit_open' | 'cancelled';

export class ModelError extends Error {
  override name = 'ModelError';
  constructor(
    readonly kind: ModelErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** One model behind one interface; a new provider is a new file plus one registry line. */
export interface ModelProvider {
  readonly name: ModelName;
  /** One bounded attempt; must stop work when `signal` aborts. Throws ModelError. */
  generate(req: GenerateRequest, signal: AbortSignal): Promise<GenerateResult>;
}
