/**
 * Whole-body requests to our own sidecar (state, invocation, readiness) over
 * node:http with a keep-alive pool.
 * fetch (undici) took ~15 % of each service's CPU per answer in profiles (WHATWG
 * streams, Headers, AbortSignal.any/timeout and their DOMExceptions) for calls
 * whose bodies are small JSON read whole; this path does none of that.
 * Streams (SSE) still use fetch: they are long-lived and handed on as web streams.
 */
import http from 'node:http';

export interface SidecarResponse {
  status: number;
  /** A response header by lower-case name, as Node reads it (repeats joined with ", ", single-valued ones like etag: the first). */
  header(name: string): string | undefined;
  text: string;
}

/** The request's own time limit passed (not the caller's signal). */
export class SidecarTimeout extends Error {
  override name = 'SidecarTimeout';
}

export interface SidecarRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** The caller's signal (request deadline or client gone): aborts the call. */
  signal?: AbortSignal | undefined;
  /** This call's own limit; firing rejects with SidecarTimeout. */
  timeoutMs?: number | undefined;
}

/**
 * LIFO reuse keeps few sockets warm at low rates; idle sockets close after 4 s,
 * before a server's idle timeout could close one under a request being written.
 */
const agent = new http.Agent({ keepAlive: true, scheduling: 'lifo', timeout: 4000 });

export function sidecarRequest(url: string, opts: SidecarRequest = {}): Promise<SidecarResponse> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(abortError(opts.signal));
    const body = opts.body;
    const req = http.request(url, {
      agent,
      method: opts.method ?? 'GET',
      headers:
        body === undefined ? opts.headers : { ...opts.headers, 'content-length': String(Buffer.byteLength(body)) },
    });
    let timer: NodeJS.Timeout | undefined;
    let timedOut: SidecarTimeout | undefined;
    const onAbort = () => req.destroy(abortError(opts.signal!));
    const done = () => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    // The request and its response both report a destroyed socket, in either order: say why it was destroyed.
    const fail = (err: Error) => {
      done();
      reject(timedOut ?? (opts.signal?.aborted ? abortError(opts.signal) : err));
    };
    if (opts.timeoutMs !== undefined)
      timer = setTimeout(
        () => req.destroy((timedOut = new SidecarTimeout(`no answer within ${opts.timeoutMs} ms`))),
        opts.timeoutMs,
      );
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', fail);
    req.on('response', (res) => {
      res.setEncoding('utf8');
      let text = '';
      res.on('data', (chunk: string) => (text += chunk));
      res.on('error', fail);
      res.on('close', () => res.complete || fail(new Error('the response ended early')));
      res.on('end', () => {
        done();
        resolve({ status: res.statusCode ?? 0, header: (name) => first(res.headers[name]), text });
      });
    });
    req.end(body);
  });
}

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

const abortError = (signal: AbortSignal): Error =>
  signal.reason instanceof Error ? signal.reason : new Error('aborted', { cause: signal.reason });
