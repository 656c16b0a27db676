/** What the domain needs from the outside world; adapters implement these. */
import type { ModelErrorCode, ModelName } from '@context-qa/common';

/** A Dapr state store seen as a key → text map (the cache or the source of truth). */
export interface TextStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, text: string, ttlSeconds?: number): Promise<void>;
  delete(key: string): Promise<void>;
}

/** The request's remaining time, as every outbound call sees it (one deadline per request). */
export interface CallBudget {
  signal: AbortSignal;
  remainingMs(): number;
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

/** The small, SDK-free set of ways a model call fails (the public codes; the message is for logs only). */
export type ModelErrorKind = Extract<ModelErrorCode, 'timeout' | 'rate_limited' | 'unauthorized' | 'bad_request' | 'upstream_error' | 'cancelled'>;

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
