/**
 * Access log: one line per request (id, method, route pattern, status, latency), never the raw URL, which
 * may hold a prompt; routes add fields via noteAccess, also copied to the trace span.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { REQUEST_ID_HEADER } from '../contract';
import { requestContext } from '../telemetry';

/** Fields a route adds to its request's access line (key id, answeredBy, degraded…). */
export interface AccessFields {
  keyId?: string;
  answeredBy?: string;
  degraded?: boolean;
  /** A stream that broke off after its 200 was sent: the code of its error event. */
  streamError?: string;
}

const PROBES = new Set(['/healthz', '/readyz']);

const SPAN_ATTRIBUTES: Record<keyof AccessFields, string> = {
  keyId: 'context_qa.key_id',
  answeredBy: 'context_qa.answered_by',
  degraded: 'context_qa.degraded',
  streamError: 'context_qa.stream_error',
};

/** Adds fields to this request's access line, and to its trace span when tracing is on. */
export function noteAccess(res: Response, fields: AccessFields): void {
  res.locals['access'] = { ...(res.locals['access'] as AccessFields | undefined), ...fields };
  const span = requestContext.get()?.span;
  if (!span) return;
  for (const [k, v] of Object.entries(fields))
    if (v !== undefined) span.setAttribute(SPAN_ATTRIBUTES[k as keyof AccessFields], v as string | boolean);
}

/**
 * One line per request when its response ends: request id (the one the
 * requestId middleware set), method, route pattern (never the raw URL: the
 * sketch route carries the prompt in its query), status, latency and the
 * route's noted fields. Probes log at debug; 5xx at warn (their cause is
 * logged at error by the problem handler).
 */
export function accessLog(logger: Logger): RequestHandler {
  const line = (req: Request, res: Response, latencyMs: number) => ({
    requestId: req.id as string, // genReqId below makes it a string
    method: req.method,
    route: (req.route as { path: string } | undefined)?.path ?? 'unmatched',
    status: res.statusCode,
    latencyMs,
    ...(res.writableFinished ? {} : { aborted: true }), // the caller left before the response ended
    ...(res.locals['access'] as AccessFields | undefined),
  });
  return pinoHttp<Request, Response>({
    logger,
    genReqId: (_req, res) => String(res.getHeader(REQUEST_ID_HEADER)),
    // Our line carries chosen fields, not the raw req/res; req.log's binding keeps
    // only the method (the URL may hold a prompt).
    quietResLogger: true,
    serializers: { req: (r: { method: string }) => ({ method: r.method }) },
    customLogLevel: (req, res, err) => {
      if (PROBES.has(req.path)) return 'debug';
      return err || res.statusCode >= 500 ? 'warn' : 'info';
    },
    customSuccessObject: (req, res, val: { responseTime: number }) => line(req, res, val.responseTime),
    customErrorObject: (req, res, _err, val: { responseTime: number }) => line(req, res, val.responseTime),
    customSuccessMessage: () => 'request',
    customErrorMessage: () => 'request',
  });
}
