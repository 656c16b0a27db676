/**
 * What the gateway's domain and entry points need from the outside world;
 * adapters implement these: ai-core (adapters/ai-core-invoker.ts), the shared
 * limit records (adapters/limit-records-cas.ts over adapters/dapr-limit-records.ts),
 * the API-key list (adapters/api-key-source.ts) and ai-core's call table
 * (adapters/call-table.ts).
 */
import { ANSWER_CACHE_HEADER, ANSWERED_BY_HEADER, type Spend } from '@context-qa/common/contract';
import type { Deadline } from '@context-qa/common/deadline';
import type { ApiKeyEntry } from './api-keys';
import type { LimitRecord } from './limit-record';

export type AiCoreMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** A whole answer of ai-core's (a success or its own error), as the gateway passes it on. */
export interface Forwarded {
  status: number;
  body: unknown;
  /** ai-core's Retry-After on a 503 (a model refused for load or an open breaker). */
  retryAfter?: string;
  /** The model that answered (ai-core's ANSWERED_BY_HEADER). */
  answeredBy?: string;
  /** What ai-core's answer cache did (its ANSWER_CACHE_HEADER): hit, miss or bypass. */
  cache?: string;
  /** What every model call of the request spent (ai-core's spend header): what the key is charged. */
  spend?: Spend;
}

/** The headers of ai-core's answer that reach the caller, each with the Forwarded field that carries it. */
export const ANSWER_HEADERS = {
  'retry-after': 'retryAfter',
  [ANSWERED_BY_HEADER]: 'answeredBy',
  [ANSWER_CACHE_HEADER]: 'cache',
} as const satisfies Record<string, keyof Forwarded>;

export interface CallContext {
  requestId: string;
  /** Extra headers for ai-core (the tenant, x-context-key, cache-control). */
  headers?: Record<string, string>;
}

/**
 * ai-core, reached through our sidecar. A failure to reach it (down, too slow,
 * the caller gone) is thrown as one of the gateway's outcomes (domain/outcomes.ts);
 * ai-core's own answers, errors included, are returned.
 */
export interface AiCore {
  /** The whole answer. */
  send(method: AiCoreMethod, path: string, body: unknown, ctx: CallContext, deadline: Deadline): Promise<Forwarded>;
  /** A streamed success as the live response (its body still arriving), anything else as `send` gives it. */
  open(
    method: AiCoreMethod,
    path: string,
    body: unknown,
    ctx: CallContext,
    deadline: Deadline,
  ): Promise<Forwarded | { stream: Response }>;
}

/**
 * Limit records updated atomically across replicas. `change` is pure and may
 * run more than once (a conflict, an ambiguous write re-read): it returns the
 * record to write (none: nothing changed) and what to answer. Throws
 * CounterBusy when writes to one record keep conflicting.
 */
export interface LimitStore {
  update<T extends { record?: LimitRecord }>(
    key: string,
    change: (stored: LimitRecord | undefined) => T,
    ttlSeconds: number,
  ): Promise<T>;
  get(key: string): Promise<LimitRecord | undefined>;
}

/** Writes to one record kept conflicting (a burst on one key): refuse briefly rather than guess. */
export class CounterBusy extends Error {
  override name = 'CounterBusy';
}

/** The API-key list as last read; undefined until the first good read (a presented key then gets 503, not 401). */
export type ApiKeyList = () => readonly ApiKeyEntry[] | undefined;

/** The most model calls a request to this model, alias or strategy can make (ai-core's table). */
export type MaxCalls = (modelOrStrategy: string) => number;
