/**
 * API keys as the gateway stores and checks them: the secret's entry schema (hash, scope, tenants, limits),
 * the constant-time lookup of a presented key, and what a caller's scope and tenants allow it.
 */
import { DEFAULT_TENANT, type Tenant, tenantSchema } from '@context-qa/common/contract';
import { safeEqual, sha256Hex } from '@context-qa/common/crypto';
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

/**
 * What a presented key must look like (docs/tenants-and-limits.md "Tenants": `cqa_` and 48 hex digits
 * from `openssl rand -hex 24`; the dev and test keys fit too). Anything else is
 * refused before it is hashed: no work, and no huge header, for garbage.
 */
export const API_KEY_FORMAT = /^cqa_[A-Za-z0-9_]{8,120}$/;

/**
 * The SHA-256 of the two published dev keys (packages/testkit/src/dev-keys.ts,
 * components/dev-secrets.json): anyone can read them, so outside local dev
 * (LOCAL_DEV) entries with these hashes are skipped.
 */
export const DEV_KEY_HASHES: ReadonlySet<string> = new Set([
  'eb23526e5f67251c61f2dbee08f39ee798830d2625f063d1c9dc6d774868476e',
  'aca5cf937e31a6b733542933637b4f826d472a1332968776abd6d63e9da7bf60',
]);

/** The stored form: only a SHA-256 of each key (keys are random, high-entropy tokens). */
export const apiKeyEntrySchema = z
  .strictObject({
    id: z
      .string()
      .min(1)
      .max(128)
      .refine((id) => !id.includes(':') && !id.includes('||'), 'must not contain ":" or "||"'),
    scope: z.enum(['ask', 'admin']),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex SHA-256'),
    limits: keyLimitsSchema.optional(),
    /** Whose context the key reads and (admin) manages; absent: `default`. */
    tenant: tenantSchema.optional(),
    /** Further tenants whose context the key may read (e.g. a `shared` one), never write. */
    readTenants: z.array(tenantSchema).max(64).optional(),
    /** Admin only: manage every tenant's context and see every key's usage. */
    allTenants: z.boolean().optional(),
    /** After this instant the key is refused like an unknown one. */
    expiresAt: z.iso.datetime({ offset: true }).optional(),
  })
  .refine((e) => !e.allTenants || e.scope === 'admin', {
    path: ['allTenants'],
    message: 'only an admin key may have allTenants',
  });
export type ApiKeyEntry = z.infer<typeof apiKeyEntrySchema>;

export interface Caller {
  id: string;
  scope: Scope;
  limits?: KeyLimits;
  tenant: Tenant;
  readTenants: readonly Tenant[];
  allTenants: boolean;
}

export type KeyCheck = { caller: Caller } | { refused: 'format' | 'unknown' | 'expired'; keyId?: string };

/**
 * Finds the caller for a presented key, comparing against every entry in
 * constant time. A key of the wrong format is refused unhashed; an expired
 * one is refused like an unknown one (the key id is for the log line only).
 */
export function checkApiKey(entries: readonly ApiKeyEntry[], presented: string, now = Date.now()): KeyCheck {
  if (!API_KEY_FORMAT.test(presented)) return { refused: 'format' };
  const digest = sha256Hex(presented);
  let found: ApiKeyEntry | undefined;
  for (const e of entries) if (safeEqual(e.sha256, digest) && !found) found = e; // no early exit
  if (!found) return { refused: 'unknown' };
  if (found.expiresAt !== undefined && Date.parse(found.expiresAt) <= now)
    return { refused: 'expired', keyId: found.id };
  return { caller: callerOf(found) };
}

/** The caller for a presented key, or undefined (wrong format, unknown or expired). */
export function verifyApiKey(entries: readonly ApiKeyEntry[], presented: string, now = Date.now()): Caller | undefined {
  const check = checkApiKey(entries, presented, now);
  return 'caller' in check ? check.caller : undefined;
}

const callerOf = (e: ApiKeyEntry): Caller => ({
  id: e.id,
  scope: e.scope,
  ...(e.limits ? { limits: e.limits } : {}),
  tenant: e.tenant ?? DEFAULT_TENANT,
  readTenants: e.readTenants ?? [],
  allTenants: e.allTenants === true,
});

/** admin may do everything ask may. */
export const allows = (has: Scope, needs: Scope): boolean => has === 'admin' || has === needs;

/** Reading: its own tenant, a granted one, or any with allTenants. Writing: its own, or any with allTenants. */
export function mayUseTenant(caller: Caller, tenant: Tenant, access: 'read' | 'write'): boolean {
  if (caller.allTenants || caller.tenant === tenant) return true;
  return access === 'read' && caller.readTenants.includes(tenant);
}

/** `/v1/usage/:keyId`: keys of the admin's own tenant, or any key with allTenants. */
export function maySeeUsageOf(caller: Caller, entry: ApiKeyEntry | undefined): boolean {
  return caller.allTenants || (entry !== undefined && (entry.tenant ?? DEFAULT_TENANT) === caller.tenant);
}
