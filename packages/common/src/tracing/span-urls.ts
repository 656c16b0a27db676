/**
 * What the URLs in our spans may show: route patterns, never a context key.
 * Keys may be normalised prompts or question hashes (`sha256:…`), and keys
 * appear in logs only hashed; spans keep the same promise. The sidecars' own
 * spans of the same calls are Dapr's (see docs/observability.md "Traces").
 */

/** Path segments that are a key: the state key at our sidecar, the gateway's context route. */
const KEY_SEGMENTS = [/(\/v1\.0\/state\/[^/?#]+\/)[^/?#]+/, /(\/v1\/context\/)[^/?#]+/];

/** Query parameters holding user text (the sketch route's prompt), a context key, or a credential. */
export const REDACTED_QUERY = [
  'prompt',
  'key',
  'sig',
  'Signature',
  'AWSAccessKeyId',
  'X-Goog-Signature',
  'X-Amz-Signature',
  'X-Amz-Credential',
  'X-Amz-Security-Token',
];

const REDACTED = 'REDACTED';

/** A URL path (no query) with each key segment replaced by `{key}`. */
export const spanPath = (path: string): string =>
  KEY_SEGMENTS.reduce((p, segment) => p.replace(segment, '$1{key}'), path);

/** A path with its query (`/a/b?x=1`), key segments and redacted parameters replaced. */
export function spanPathAndQuery(pathAndQuery: string): string {
  const at = pathAndQuery.indexOf('?');
  if (at === -1) return spanPath(pathAndQuery);
  const params = new URLSearchParams(pathAndQuery.slice(at + 1));
  for (const name of REDACTED_QUERY) if (params.has(name)) params.set(name, REDACTED);
  return `${spanPath(pathAndQuery.slice(0, at))}?${params.toString()}`;
}

/** An absolute URL as a span may carry it. */
export function spanUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.username || parsed.password ? `${REDACTED}:${REDACTED}@` : ''}${parsed.host}${spanPathAndQuery(parsed.pathname + parsed.search)}`;
}

/** The outgoing request's URL from the options node:http was given (as the HTTP instrumentation builds url.full), made safe. */
export function spanUrlOfRequest(options: {
  protocol?: string | null;
  host?: string | null;
  hostname?: string | null;
  port?: number | string | null;
  path?: string | null;
}): string {
  const port = String(options.port ?? '');
  let host = options.host || options.hostname || 'localhost';
  if (!host.includes(':') && port && port !== '80' && port !== '443') host += `:${port}`;
  return `${options.protocol || 'http:'}//${host}${spanPathAndQuery(options.path || '/')}`;
}
