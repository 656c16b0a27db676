/** Security headers (nosniff, HSTS, no framing, COOP) set on every response, error responses included. */
import type { RequestHandler } from 'express';

/**
 * On every response, whatever route or error wrote it: never content-sniffed (an error
 * body echoing a path must never render as HTML), HTTPS only from the first visit on
 * (browsers ignore HSTS over plain HTTP, so local dev is unaffected), never framed
 * (clickjacking the playground), and no shared browsing context with an opener.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

export const securityHeaders: RequestHandler = (_req, res, next) => {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
  next();
};
