/**
 * The tenant of a request, from the gateway only: TENANT_HEADER, which the
 * gateway sets from the authenticated key (callers reach this port only
 * through our sidecar with its app token, and on EKS only the gateway's
 * sidecar identity may call it). Missing or malformed is refused, never
 * defaulted: a default would read some tenant's context by accident.
 */
import type { RequestHandler, Response } from 'express';
import { type Tenant, TENANT_HEADER, tenantSchema } from '@context-qa/common/contract';
import { httpError } from '@context-qa/common/http';

export const requireTenant: RequestHandler = (req, res, next) => {
  const parsed = tenantSchema.safeParse(req.header(TENANT_HEADER));
  if (!parsed.success)
    return next(
      httpError(400, `the ${TENANT_HEADER} header (set by the gateway) is missing or malformed`, {
        code: 'tenant_required',
      }),
    );
  res.locals['tenant'] = parsed.data;
  next();
};

/** After requireTenant. */
export const tenantOf = (res: Response): Tenant => res.locals['tenant'] as Tenant;
