/**
 * A Dapr state store through the sidecar's HTTP state API (v1.0), not the JS
 * SDK: the SDK's state.get drops the ETag and the metadata headers, and
 * state.save turns a 409 into a logged `{error}` value, so compare-and-set and
 * the store's TTL would be invisible. Our own client also lets a timeout really cancel.
 */
import { DeadlineExceeded } from '../deadline';
import { sidecarHeaders, sidecarUrl, type SidecarConfig } from './client';
import { sidecarRequest, SidecarTimeout, type SidecarRequest, type SidecarResponse } from './sidecar-http';

interface Got {
  value: unknown;
  etag?: string;
  /** `metadata.ttlExpireTime` (RFC 3339), sent by stores with TTLs (DynamoDB, in-memory). */
  expiresAt?: number;
}

export function stateApi(sidecar: SidecarConfig, storeName: string, timeoutMs: number) {
  const base = `${sidecarUrl(sidecar)}/v1.0/state/${encodeURIComponent(storeName)}`;
  // The key may hold '/', '?', '#', spaces: one encoded path segment.
  const at = (key: string) => `${base}/${encodeURIComponent(key)}`;

  /** Bounded by the store's own timeout and, on the request path, by the request (`outer`). */
  async function send(
    op: string,
    url: string,
    init: SidecarRequest = {},
    outer?: AbortSignal,
  ): Promise<SidecarResponse> {
    try {
      return await sidecarRequest(url, {
        ...init,
        headers: { ...sidecarHeaders(sidecar), ...init.headers },
        signal: outer,
        timeoutMs,
      });
    } catch (err) {
      if (outer?.aborted) throw new Error(`${storeName} ${op}: stopped, the request ended`, { cause: err });
      if (err instanceof SidecarTimeout)
        throw new DeadlineExceeded(`${storeName} ${op} took longer than ${timeoutMs} ms`, { cause: err });
      throw new Error(`${storeName} ${op}: sidecar unreachable`, { cause: err });
    }
  }
  /** daprd's error body names the key; keys may be normalised prompts, which are never logged. */
  function failure(op: string, key: string, res: SidecarResponse): Error {
    const body = res.text.split(key).join('<key>').split(encodeURIComponent(key)).join('<key>');
    return new Error(`${storeName} ${op}: HTTP ${res.status} ${body.slice(0, 500)}`);
  }

  const api = {
    async get(key: string, consistency?: 'strong', signal?: AbortSignal): Promise<Got | undefined> {
      const res = await send('get', `${at(key)}${consistency ? `?consistency=${consistency}` : ''}`, {}, signal);
      if (res.status === 204) return undefined;
      if (res.status !== 200) throw failure('get', key, res);
      const raw = res.text;
      if (raw === '') return undefined;
      const etag = res.header('etag');
      const expiry = Date.parse(res.header('metadata.ttlexpiretime') ?? '');
      return {
        value: parseValue(storeName, raw),
        ...(etag ? { etag } : {}),
        ...(Number.isFinite(expiry) ? { expiresAt: expiry } : {}),
      };
    },
    /**
     * true: written; false: the etag (or create-only) condition failed, a conflict.
     * A lost create-only write (firstWrite, no etag) is a conflict too, whatever the store
     * answered: state.redis (components-contrib v1.18.4) answers it with a 500 ("failed to
     * set key"), not a 409 as the in-memory store does; so a failed create-only write is a
     * conflict if the key exists now. Whose write the existing value is, the caller cannot
     * tell from this answer (a write of its own may have landed under that 500): a caller that
     * must know marks its values (the gateway's limit records carry their write ids).
     * A timeout is no conflict: the write may still land, and reading now would not say.
     */
    async save(
      key: string,
      value: unknown,
      opts: { ttlSeconds?: number | undefined; etag?: string | undefined; firstWrite?: boolean },
    ): Promise<boolean> {
      const item = {
        key,
        value,
        ...(opts.etag ? { etag: opts.etag } : {}),
        ...(opts.firstWrite ? { options: { concurrency: 'first-write' } } : {}),
        ...(opts.ttlSeconds ? { metadata: { ttlInSeconds: String(opts.ttlSeconds) } } : {}),
      };
      try {
        const res = await send('save', base, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify([item]),
        });
        if (res.status === 204 || res.status === 200) return true;
        if (res.status === 409) return false;
        throw failure('save', key, res);
      } catch (err) {
        const createOnly = opts.firstWrite && !opts.etag;
        if (createOnly && !(err instanceof DeadlineExceeded) && (await api.get(key).catch(() => undefined)))
          return false;
        throw err;
      }
    },
    async delete(key: string): Promise<void> {
      const res = await send('delete', at(key), { method: 'DELETE' });
      if (res.status !== 204 && res.status !== 200) throw failure('delete', key, res);
    },
  };
  return api;
}

/** JSON.parse's own message quotes the input, which is context text: never let it reach a log. */
function parseValue(storeName: string, raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new Error(`${storeName} get: the stored value is not JSON`);
  }
}
