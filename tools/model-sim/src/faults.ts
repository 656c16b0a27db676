/**
 * Fault injection, per model id / deployment name (or "*" for every target).
 * Set at start (SIM_FAULTS) and changed at runtime through the admin API.
 */
export interface Fault {
  /** Added before the first byte of every response. */
  latencyMs?: number;
  /** Uniform extra latency in [0, jitterMs). */
  jitterMs?: number;
  /** Share of requests that fail with `error` (0..1). */
  failRate?: number;
  /** Which failure: one of ERROR_KINDS (or a Bedrock exception name). Default `internal`. */
  error?: string;
  /** Never answer: the request stays open until the client gives up. */
  hang?: boolean;
  /** Delay between stream chunks. */
  chunkDelayMs?: number;
  /** Streams fail after this many content chunks… */
  failAfterChunks?: number;
  /** …with an error event in the stream, or by dropping the connection. Default `error`. */
  midStream?: 'error' | 'drop';
  /** Apply this fault only to requests whose prompt text contains this string (e.g. "<draft-"). */
  onlyIf?: string;
}

/** The failures the simulator can produce, with each API's own rendering. */
export const ERROR_KINDS = {
  validation: { status: 400, bedrock: 'ValidationException', azure: 'BadRequest', message: 'Malformed input request' },
  // Real Bedrock names the caller's role and account: what must never reach our clients.
  'access-denied': {
    status: 403,
    bedrock: 'AccessDeniedException',
    azure: '401',
    message:
      'User: arn:aws:sts::123456789012:assumed-role/context-qa-ai-core/session is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama4-maverick-17b-instruct-v1:0',
  },
  'not-found': { status: 404, bedrock: 'ResourceNotFoundException', azure: 'DeploymentNotFound', message: 'Not found' },
  'model-timeout': { status: 408, bedrock: 'ModelTimeoutException', azure: 'Timeout', message: 'Model timed out' },
  'model-error': {
    status: 424,
    bedrock: 'ModelErrorException',
    azure: 'InternalServerError',
    message: 'The model failed',
  },
  throttling: {
    status: 429,
    bedrock: 'ThrottlingException',
    azure: '429',
    message: 'Too many requests, please wait before trying again.',
  },
  internal: {
    status: 500,
    bedrock: 'InternalServerException',
    azure: 'InternalServerError',
    message: 'The server had an error processing your request.',
  },
  unavailable: {
    status: 503,
    bedrock: 'ServiceUnavailableException',
    azure: 'ServiceUnavailable',
    message: 'The service is temporarily unavailable.',
  },
} as const;

export type ErrorKind = keyof typeof ERROR_KINDS;
export type ErrorSpec = (typeof ERROR_KINDS)[ErrorKind];

/** Accepts a kind ("throttling") or a Bedrock exception name ("ThrottlingException"). */
export function errorSpec(name: string | undefined): ErrorSpec {
  if (!name) return ERROR_KINDS.internal;
  if (name in ERROR_KINDS) return ERROR_KINDS[name as ErrorKind];
  const byBedrock = Object.values(ERROR_KINDS).find((e) => e.bedrock === name);
  if (!byBedrock) throw new Error(`unknown error "${name}"; use one of ${Object.keys(ERROR_KINDS).join(', ')}`);
  return byBedrock;
}

const FAULT_KEYS = new Set([
  'latencyMs',
  'jitterMs',
  'failRate',
  'error',
  'hang',
  'chunkDelayMs',
  'failAfterChunks',
  'midStream',
  'onlyIf',
]);

/** Validates a fault from JSON; throws with the offending field. */
export function parseFault(input: unknown): Fault {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new Error('fault must be a JSON object');
  const f = input as Record<string, unknown>;
  for (const k of Object.keys(f)) if (!FAULT_KEYS.has(k)) throw new Error(`unknown fault field "${k}"`);
  for (const k of ['latencyMs', 'jitterMs', 'chunkDelayMs', 'failAfterChunks']) {
    if (f[k] !== undefined && !(typeof f[k] === 'number' && Number.isInteger(f[k]) && f[k] >= 0)) {
      throw new Error(`${k} must be a non-negative integer`);
    }
  }
  if (f['failRate'] !== undefined && !(typeof f['failRate'] === 'number' && f['failRate'] >= 0 && f['failRate'] <= 1)) {
    throw new Error('failRate must be a number from 0 to 1');
  }
  if (f['hang'] !== undefined && typeof f['hang'] !== 'boolean') throw new Error('hang must be a boolean');
  if (f['midStream'] !== undefined && f['midStream'] !== 'error' && f['midStream'] !== 'drop') {
    throw new Error('midStream must be "error" or "drop"');
  }
  if (f['onlyIf'] !== undefined && (typeof f['onlyIf'] !== 'string' || f['onlyIf'] === ''))
    throw new Error('onlyIf must be a non-empty string');
  if (f['error'] !== undefined) errorSpec(typeof f['error'] === 'string' ? f['error'] : JSON.stringify(f['error']));
  return f;
}

export class FaultRegistry {
  private readonly faults = new Map<string, Fault>();
  // Deterministic pseudo-random sequence (mulberry32) so runs are repeatable.
  private seed: number;

  constructor(initial: Record<string, Fault> = {}, seed = 42) {
    this.seed = seed;
    for (const [target, fault] of Object.entries(initial)) this.set(target, fault);
  }

  set(target: string, fault: Fault): void {
    this.faults.set(target, parseFault(fault));
  }

  clear(target?: string): void {
    if (target === undefined) this.faults.clear();
    else this.faults.delete(target);
  }

  all(): Record<string, Fault> {
    return Object.fromEntries(this.faults);
  }

  /** The fault for a target (its own, else the "*" one, else none), if it applies to this prompt text. */
  for(target: string, promptText = ''): Fault {
    const fault = this.faults.get(target) ?? this.faults.get('*') ?? {};
    return fault.onlyIf === undefined || promptText.includes(fault.onlyIf) ? fault : {};
  }

  random(): number {
    let t = (this.seed = (this.seed + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** The error this request should fail with, if any. */
  failure(fault: Fault): ErrorSpec | undefined {
    const rate = fault.failRate ?? 0;
    return rate > 0 && this.random() < rate ? errorSpec(fault.error) : undefined;
  }

  delayMs(fault: Fault): number {
    return (fault.latencyMs ?? 0) + (fault.jitterMs ? Math.floor(this.random() * fault.jitterMs) : 0);
  }
}
