import { safeEqual, sha256Hex } from '@context-qa/common';
import { z } from 'zod';

export type Scope = 'ask' | 'admin';

const limit = z.number().int().min(0, 'must be 0 (no limit) or more');

/** Per-key limits; each one left out takes the gateway's default (RATE_LIMIT_DEFAULT_*); 0 means none. */
export const keyLimitsSchema = z.strictObject({
  requestsPerMinute: limit.optional(),
  tokensPerMinute: limit.optional(),
  tokensPerDay: limit.optional(),
  maxInFlight: limit.optional(),
});
export type KeyLimits = z.infer<typeof keyLimitsSchema>;

/** The stored form: only a SHA-256 of each key (keys are random, high-entropy tokens). */
export const apiKeyEntrySchema = z.strictObject({
  id: z
    .string()
    .min(1)
    .max(128)
    .refine((id) => !id.includes(':') && !id.includes('||'), 'must not contain ":" or "||"'),
  scope: z.enum(['ask', 'admin']),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex SHA-256'),
  limits: keyLimitsSchema.optional(),
});
export type ApiKeyEntry = z.infer<typeof apiKeyEntrySchema>;

export interface Caller {
  id: string;
  scope: Scope;
  limits?: KeyLimits;
}

/** Finds the caller for a presented key, comparing against every entry in constant time. */
export function verifyApiKey(entries: readonly ApiKeyEntry[], presented: string): Caller | undefined {
  const digest = sha256Hex(presented);
  let found: ApiKeyEntry | undefined;
  for (const e of entries) if (safeEqual(e.sha256, digest) && !found) found = e; // no early exit
  return found ? { id: found.id, scope: found.scope, ...(found.limits ? { limits: found.limits } : {}) } : undefined;
}

/** admin may do everything ask may. */
export const allows = (has: Scope, needs: Scope): boolean => has === 'admin' || has === needs;
