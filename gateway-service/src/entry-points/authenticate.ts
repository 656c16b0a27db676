/**
 * Who is calling: the API key (Authorization: Bearer <key> or x-api-key: <key>),
 * checked against the key list (domain/api-keys.ts), the scope the route needs,
 * then the tenant the request acts in (tenancy.ts): reads (asking, GET) may use
 * a granted tenant, writes only the key's own. The caller is left in
 * `res.locals.caller` for the limits and the routes.
 */
import type { RequestHandler } from 'express';
import { noteAccess } from '@context-qa/common/http';
import type { Logger } from '@context-qa/common/telemetry';
import { allows, checkApiKey, type Scope } from '../domain/api-keys';
import { refuse } from '../domain/outcomes';
import type { ApiKeyList } from '../domain/ports';
import { resolveTenant } from './tenancy';

const readTenant = resolveTenant('read');
const writeTenant = resolveTenant('write');

/**
 * 401 without a valid key, 403 without the scope. Before the key list is
 * loaded a presented key cannot be judged: 503 with Retry-After (the list is
 * retried every second), never a 401.
 */
export function authenticate(keys: ApiKeyList, scope: Scope, logger: Logger): RequestHandler {
  return (req, res, next) => {
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.header('authorization') ?? '')?.[1];
    const presented = bearer ?? req.header('x-api-key');
    const list = keys();
    if (presented && !list) return next(refuse(res, 'keys_not_loaded'));
    const check = presented && list ? checkApiKey(list, presented) : undefined;
    if (!check || !('caller' in check)) {
      // Expired reads like unknown to the caller; the log says which key, so its owner can be told.
      if (check?.refused === 'expired') logger.info({ keyId: check.keyId }, 'expired API key refused');
      return next(
        refuse(
          res,
          'unauthorized',
          presented ? {} : { detail: 'an API key is required (Authorization: Bearer or x-api-key)' },
        ),
      );
    }
    const { caller } = check;
    noteAccess(res, { keyId: caller.id });
    res.locals['caller'] = caller;
    if (!allows(caller.scope, scope))
      return next(refuse(res, 'forbidden', { detail: `this API key lacks the "${scope}" scope` }));
    (scope === 'ask' || req.method === 'GET' ? readTenant : writeTenant)(req, res, next);
  };
}
