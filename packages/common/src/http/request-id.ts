/**
 * Request-id middleware: accepts a well-formed x-request-id or makes one, echoes it, and scopes it so every
 * log line (and the trace span) carries it.
 */
import { trace } from '@opentelemetry/api';
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { REQUEST_ID_HEADER } from '../contract';
import { requestContext } from '../telemetry';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Span attribute holding the request id (search a trace viewer by it). */
export const REQUEST_ID_ATTRIBUTE = 'context_qa.request_id';

/** Takes a sane caller-supplied x-request-id or makes one, echoes it, and scopes it for logs. */
export const requestId: RequestHandler = (req, res, next) => {
  const given = req.header(REQUEST_ID_HEADER);
  const id = given && REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader(REQUEST_ID_HEADER, id);
  // With tracing on, the active span here is the server span (middleware layers are not
  // traced): it carries the id, so a trace can be found by it. The instrumentation propagates the trace.
  const span = trace.getActiveSpan();
  span?.setAttribute(REQUEST_ID_ATTRIBUTE, id);
  requestContext.run({ requestId: id, ...(span ? { span } : {}) }, next);
};
