/** What the domain needs from the outside world; adapters implement these. */
import type { ModelErrorCode, ModelName, ModelOutcome } from '@context-qa/common/contract';

/** Context as the source of truth holds it; `expiresAt` (epoch ms) when the item has a TTL. */
export interface StoredText {
  text: string;
  expiresAt?: number;
}

/** The source of truth (DynamoDB) seen as a key → text map; reads are strongly consistent. */
export interface TextStore {
  /** The Dapr component's name, for logs. */
  readonly name: string;
  /** `signal`: the request's, on the request path (a read for a caller that has gone stops). */
  get(key: string, signal?: AbortSignal): Promise<StoredText | undefined>;
  set(key: string, text: string, ttlSeconds?: number): Promise<void>;
  delete(key: string): Promise<void>;
}

/** What the cache holds for a key: a copy of the text, a tombstone, or nothing; `etag` is its version. */
export type CacheEntry =
  { kind: 'text'; text: string; etag: string } | { kind: 'tombstone'; etag: string } | { kind: 'absent' };

/** The cache (Redis), written only by compare-and-set so a late writer cannot undo a newer one. */
export interface ContextCache {
  readonly name: string;
  read(key: string, signal?: AbortSignal): Promise<CacheEntry>;
  /**
   * Writes `text` (a tombstone when undefined) only if the key still holds
   * `seen`: same etag, or still absent. 'conflict' when another write came
   * first; throws when the cache fails.
   */
  write(key: string, seen: CacheEntry, text: string | undefined, ttlSeconds: number): Promise<'written' | 'conflict'>;
}

/** The request's remaining time, as every outbound call sees it (one deadline per request). */
export interface CallBudget {
  signal: AbortSignal;
  remainingMs(): number;
}

export interface GenerateRequest {
  system: string;
  /** Earlier turns of a chat, oldest first; the question (with its context) is `user`, the last turn. */
  history?: { role: 'user' | 'assistant'; text: string }[];
  user: string;
  maxTokens: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
}

/** Why the model stopped, in OpenAI's words (Bedrock's end_turn → stop, max_tokens → length, …). */
export type FinishReason = 'stop' | 'length' | 'content_filter';

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

export interface GenerateResult {
  text: string;
  usage?: Usage;
  finishReason?: FinishReason;
  /** The model that answered, as the provider reported it (for traces). */
  model?: string;
}

/** One piece of a streamed answer: text as it comes, then how it ended. */
export type StreamEvent =
  { type: 'delta'; text: string } | { type: 'end'; finishReason: FinishReason; usage?: Usage; model?: string };

/** The small, SDK-free set of ways a model call fails (the public codes; the message is for logs only). */
export type ModelErrorKind = Extract<
  ModelErrorCode,
  'timeout' | 'rate_limited' | 'unauthorized' | 'bad_request' | 'upstream_error' | 'cancelled'
>;

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
  /** Who serves it and under which model id (GenAI trace attributes); fakes may leave it out. */
  readonly telemetry?: { provider: string; model: string };
  /** One bounded attempt; must stop work when `signal` aborts. Throws ModelError. */
  generate(req: GenerateRequest, signal: AbortSignal): Promise<GenerateResult>;
  /**
   * The same, streamed: deltas as the model produces them, then one `end`.
   * Aborting `signal` closes the upstream connection. Throws ModelError, also
   * mid-stream (an error event or a dropped connection before `end`).
   */
  stream(req: GenerateRequest, signal: AbortSignal): AsyncIterable<StreamEvent>;
}

/**
 * The configured models, each behind its breaker and bulkhead: a call never
 * throws, a failure comes back as an outcome. `lostRace` tells a model another
 * one already answered.
 */
export interface Models {
  run(model: ModelName, req: GenerateRequest, budget: CallBudget, opts?: RaceOptions): Promise<ModelOutcome>;
  /** The same, streamed: `onDelta` gets the text as it comes; the outcome holds the whole answer. */
  stream(model: ModelName, req: GenerateRequest, budget: CallBudget, opts: StreamOptions): Promise<ModelOutcome>;
}

export interface RaceOptions {
  lostRace?: AbortSignal;
}

export interface StreamOptions extends RaceOptions {
  onDelta: (text: string) => void;
}

/** The answer cache's store (a Dapr state store): opaque JSON values under hashed keys, with a TTL. */
export interface AnswerStore {
  readonly name: string;
  /** undefined when absent; `signal` bounds the read by the request's deadline. */
  get(key: string, signal?: AbortSignal): Promise<unknown>;
  set(key: string, value: unknown, ttlSeconds: number): Promise<void>;
}
