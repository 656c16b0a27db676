/**
 * A Dapr state store as a TextStore. Values are stored as {text, updatedAt};
 * a bare JSON string (as an ingestion job might write) is read as the text.
 */
import { withTimeout, type DaprClient } from '@context-qa/common';
import type { TextStore } from '../domain/ports';

interface StoredContext {
  text: string;
  updatedAt?: string;
}

function textOf(value: unknown): string | undefined {
  if (value === '' || value === null || value === undefined) return undefined; // the SDK's "no such key"
  if (typeof value === 'string') return value;
  const text = (value as Partial<StoredContext>).text;
  return typeof text === 'string' ? text : undefined;
}

/** The SDK's state error path swallows delete failures into a return value; surface them. */
function throwIfError(result: unknown): void {
  const error = (result as { error?: unknown } | undefined)?.error;
  if (error) throw error instanceof Error ? error : new Error(String(error));
}

export function daprTextStore(client: DaprClient, storeName: string, timeoutMs: number): TextStore {
  // The SDK puts the key into the URL path unescaped; keys may hold '/', '?', '#', spaces.
  const inPath = (key: string) => encodeURIComponent(key);
  const op = <T>(what: string, p: Promise<T>) => withTimeout(p, timeoutMs, `${storeName} ${what}`);
  return {
    async get(key) {
      return textOf(await op('get', client.state.get(storeName, inPath(key))));
    },
    async set(key, text, ttlSeconds) {
      const value: StoredContext = { text, updatedAt: new Date().toISOString() };
      await op('save', client.state.save(storeName, [
        { key, value, ...(ttlSeconds ? { metadata: { ttlInSeconds: String(ttlSeconds) } } : {}) },
      ]).then(throwIfError));
    },
    async delete(key) {
      await op('delete', client.state.delete(storeName, inPath(key)).then(throwIfError));
    },
  };
}
