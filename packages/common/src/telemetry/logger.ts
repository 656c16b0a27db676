/**
 * Logging: a pino logger that redacts secrets and user text, and per-request context (AsyncLocalStorage) so
 * each line carries the request id and, with tracing on, the trace id.
 */
import { trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorage } from 'node:async_hooks';
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/** Per-request values every log line and outgoing call should carry. */
export interface RequestContext {
  requestId: string;
  /** The request's server span when tracing is on: route-level facts go there, next to the request id. */
  span?: Span;
}

const store = new AsyncLocalStorage<RequestContext>();

export const requestContext = {
  run: <T>(ctx: RequestContext, fn: () => T): T => store.run(ctx, fn),
  get: (): RequestContext | undefined => store.getStore(),
};

/** Secrets and user text never reach the logs at any level. */
const REDACT = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["dapr-api-token"]',
  'req.headers["api-key"]',
  '*.apiKey',
  '*.prompt',
  '*.text',
];

export function createLogger(service: string, level = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name: service,
      level,
      redact: { paths: REDACT, censor: '[redacted]' },
      // The request id, and with tracing on the trace id: a log line leads to its trace.
      mixin: () => {
        const ctx = store.getStore();
        const traceId = trace.getActiveSpan()?.spanContext().traceId;
        return { ...(ctx ? { requestId: ctx.requestId } : {}), ...(traceId ? { traceId } : {}) };
      },
    },
    destination,
  );
}
