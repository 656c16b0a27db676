/**
 * ai-core's sidecar admits the gateway exactly on the routes the gateway calls
 * (AI_CORE_ROUTES): a route left out is denied on EKS only (403 at the sidecar, 502
 * to the caller), and one too many opens ai-core wider than the code needs.
 */
import { AI_CORE_ROUTES } from '@context-qa/common/contract';
import type { Doc } from './load';
import type { Fail } from './rules';

const CALLER = 'gateway-service';

/** `<VERB> <path>` for each route and verb the gateway calls. */
const NEEDED: string[] = Object.values(AI_CORE_ROUTES).flatMap(({ path, verbs }) => verbs.map((v) => `${v} ${path}`));

export function checkAccessControl(docs: Doc[], fail: Fail): void {
  for (const d of docs) {
    if (d.obj['kind'] !== 'Configuration') continue;
    const acl = d.obj['spec']?.accessControl;
    if (!acl) continue;
    if (acl.defaultAction !== 'deny') fail(d, 'accessControl.defaultAction must be deny: every other app id stays out');
    const policy = acl.policies?.find((p) => p.appId === CALLER);
    if (!policy) {
      fail(d, `accessControl has no policy for ${CALLER}: every route it calls on ai-core is denied`);
      continue;
    }
    const where = `accessControl policy ${CALLER}`;
    if (policy.defaultAction !== 'deny')
      fail(d, `${where}: defaultAction must be deny, or it allows more than AI_CORE_ROUTES`);
    const allowed = new Set(
      (policy.operations ?? [])
        .filter((o) => o.action === 'allow')
        .flatMap((o) => (o.httpVerb ?? ['*']).map((v) => `${v.toUpperCase()} ${o.name ?? ''}`)),
    );
    for (const op of NEEDED)
      if (!allowed.has(op))
        fail(d, `${where}: does not allow ${op}, which the gateway calls (AI_CORE_ROUTES): denied on EKS`);
    // Exact names only: Dapr matches operations as path prefixes, so `/v1` would admit every /v1 route.
    for (const op of allowed)
      if (!NEEDED.includes(op)) fail(d, `${where}: allows ${op}, which the gateway never calls (AI_CORE_ROUTES)`);
  }
}
