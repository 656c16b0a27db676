/**
 * Which tenant's context a request uses, decided here from the authenticated
 * key (docs/tenants-and-limits.md "Tenants") and sent to ai-core in TENANT_HEADER, which ai-core
 * takes from no one else. A caller names another tenant only with
 * REQUESTED_TENANT_HEADER, and only one its key is granted.
 */
import type { RequestHandler, Response } from 'express';
import { REQUESTED_TENANT_HEADER, type Tenant, TENANT_HEADER, tenantSchema } from '@context-qa/common/contract';
import { mayUseTenant, type Caller } from '../domain/api-keys';
import { refuse } from '../domain/outcomes';

/**
 * After `authenticate`: the key's own tenant, or the one it asks for when it
 * may `access` it. A tenant not granted is 403 (`tenant_not_granted`) on every
 * route alike, whether or not that tenant holds anything: no existence oracle.
 */
export function resolveTenant(access: 'read' | 'write'): RequestHandler {
  return (req, res, next) => {
    const caller = res.locals['caller'] as Caller;
    const asked = req.header(REQUESTED_TENANT_HEADER);
    if (asked === undefined) {
      res.locals['tenant'] = caller.tenant;
      return next();
    }
    const parsed = tenantSchema.safeParse(asked);
    if (!parsed.success)
      return next(
        refuse(res, 'invalid_tenant', { detail: `${REQUESTED_TENANT_HEADER}: ${parsed.error.issues[0]!.message}` }),
      );
    if (!mayUseTenant(caller, parsed.data, access)) {
      return next(
        refuse(res, 'tenant_not_granted', {
          detail: `this API key may not ${access} the context of tenant "${parsed.data}"`,
        }),
      );
    }
    res.locals['tenant'] = parsed.data;
    next();
  };
}

/** The header for ai-core: the tenant decided above (none before it ran, e.g. GET /v1/models). */
export function tenantHeaders(res: Response): Record<string, string> {
  const tenant = res.locals['tenant'] as Tenant | undefined;
  return tenant ? { [TENANT_HEADER]: tenant } : {};
}
