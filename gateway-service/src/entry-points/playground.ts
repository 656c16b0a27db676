/**
 * GET /playground: the static playground page (gateway-service/playground:
 * index.html, playground.css and the compiled dist/*.js). No API key for the
 * page itself: it asks for one and calls the public API with it. The CSP
 * allows this origin only: no inline script or style, no third party, no framing.
 */
import path from 'node:path';
import type { Express, NextFunction, Response } from 'express';

const ROOT = path.join(__dirname, '..', '..', 'playground');

export const PLAYGROUND_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const HEADERS = {
  'content-security-policy': PLAYGROUND_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // File names carry no version: always revalidate (Last-Modified makes that a 304).
  'cache-control': 'no-cache',
};

/** What the browser may ask for under /playground/; nothing else in the folder (sources, tsconfig) is served. */
function fileFor(name: string): string | undefined {
  if (name === 'playground.css') return name;
  return /^[a-z-]+\.js$/.test(name) ? `dist/${name}` : undefined;
}

function sendFile(res: Response, next: NextFunction, file: string): void {
  res.sendFile(file, { root: ROOT, headers: HEADERS, cacheControl: false }, (err?: Error & { code?: string }) => {
    if (!err || err.code === 'ECONNABORTED') return; // sent, or the caller left
    next(err.code === 'ENOENT' ? undefined : err); // missing: the 404 problem
  });
}

export function mountPlayground(app: Express): void {
  app.get('/playground', (_req, res, next) => sendFile(res, next, 'index.html'));
  app.get('/playground/:file', (req, res, next) => {
    const file = fileFor(req.params.file);
    if (file) sendFile(res, next, file);
    else next();
  });
}
