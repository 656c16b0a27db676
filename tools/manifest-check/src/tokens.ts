/**
 * Dapr tokens: each sidecar has its own API token (one leaked token opens one sidecar),
 * an app token is never also an API token, and each app reads the token of its own sidecar
 * (a mismatch is a 401 on every call at start-up).
 */
import { describe, type Container, type Doc } from './load';
import type { Fail } from './rules';

const secretOf = (c: Container, env: string): string | undefined =>
  c.env?.find((e) => e.name === env)?.valueFrom?.secretKeyRef?.name;

export function checkDaprTokens(deployments: Doc[], fail: Fail): void {
  const apiTokenOwner = new Map<string, Doc>();
  for (const d of deployments) {
    const ann = d.obj['spec']?.template?.metadata?.annotations ?? {};
    const apiToken = ann['dapr.io/api-token-secret'];
    const appToken = ann['dapr.io/app-token-secret'];
    const owner = apiToken ? apiTokenOwner.get(apiToken) : undefined;
    if (owner) fail(d, `shares Dapr API token secret ${apiToken} with ${describe(owner)}; give each sidecar its own`);
    else if (apiToken) apiTokenOwner.set(apiToken, d);

    for (const c of d.obj['spec']?.template?.spec?.containers ?? []) {
      const apiEnv = secretOf(c, 'DAPR_API_TOKEN');
      const appEnv = secretOf(c, 'APP_API_TOKEN');
      if (apiToken && apiEnv !== apiToken)
        fail(
          d,
          `container ${c.name}: DAPR_API_TOKEN must come from secret ${apiToken} (its sidecar's), not ${apiEnv ?? 'nowhere'}`,
        );
      if ((appToken || appEnv) && appEnv !== appToken)
        fail(
          d,
          `container ${c.name}: APP_API_TOKEN must come from secret ${appToken ?? '(no app-token-secret)'}, not ${appEnv ?? 'nowhere'}`,
        );
    }
  }
  for (const d of deployments) {
    const appToken = d.obj['spec']?.template?.metadata?.annotations?.['dapr.io/app-token-secret'];
    const owner = appToken ? apiTokenOwner.get(appToken) : undefined;
    if (owner) fail(d, `app token secret ${appToken} is also the API token of ${describe(owner)}`);
  }
}
