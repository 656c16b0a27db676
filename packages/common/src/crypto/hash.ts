/**
 * Hashing helpers: SHA-256 hex (API key digests, cache keys), a short key hash that logs may show in place
 * of a context key, and constant-time comparison for secrets.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export const sha256Hex = (value: string): string => createHash('sha256').update(value).digest('hex');

/** A context key as logs may show it: keys can be normalised prompts, which are never logged. */
export const keyHash = (key: string): string => sha256Hex(key).slice(0, 16);

/** Constant-time string comparison (compares digests, so lengths leak nothing either). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}
