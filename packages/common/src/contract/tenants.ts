/**
 * Tenant ids as the gateway and ai-core agree on them: the format, the default tenant, and the store key
 * that scopes a tenant's context.
 */
import { z } from 'zod';

/**
 * Tenants (docs/tenants-and-limits.md "Tenants"). Every context key, stored document and cached answer belongs to one;
 * the pattern has no ':', so the store key `<tenant>::<key>` cannot be forged by any context key.
 * The gateway decides it and sends it to ai-core in TENANT_HEADER (headers.ts).
 */
export const tenantSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a tenant is 1–63 of a–z, 0–9 and "-", starting with a letter or digit');
export type Tenant = z.infer<typeof tenantSchema>;
/** The tenant of a key entry without one: today's keys and examples keep working. */
export const DEFAULT_TENANT = 'default';
/** Where a tenant's context lives in the context stores (an ingestion job writes the same key). */
export const tenantStoreKey = (tenant: Tenant, key: string): string => `${tenant}::${key}`;
