/**
 * The gateway's key list through a real sidecar and the local.file secret
 * store: a malformed entry costs only itself, and deleting the key secret
 * revokes every key without restarting the gateway.
 *
 * local.file reads its JSON file once, when the component initialises (see
 * components-contrib secretstores/local/file), so an edit to the file is seen
 * only after the sidecar restarts; the test restarts it, as an operator would
 * locally. Stores that read on every call (Kubernetes) need no restart.
 */
import { writeFileSync } from 'node:fs';
import { DEV_KEYS, devSecrets, serviceApps, useStack } from '@context-qa/testkit';

describe('API keys from the secret store', () => {
  let gateway: string;
  const secrets = devSecrets();
  const withMalformed = JSON.stringify([
    ...(JSON.parse(secrets['gateway-api-keys']!) as unknown[]),
    { id: 'broken', scope: 'root', sha256: 'nothex' },
  ]);

  const ask = async () =>
    (
      await fetch(`${gateway}/v1/prompt`, {
        method: 'POST',
        headers: { authorization: `Bearer ${DEV_KEYS.ask}`, 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'key check' }),
      })
    ).status;
  /** Polls until the gateway's next refreshes give `want` (bounded; the refresh interval is 200 ms). */
  const askUntil = async (want: number) => {
    let status = 0;
    for (let i = 0; i < 100 && status !== want; i++) {
      status = await ask();
      if (status !== want) await new Promise((r) => setTimeout(r, 100));
    }
    return status;
  };
  const writeSecrets = (contents: Record<string, string>) =>
    writeFileSync(stack.secretsFile, JSON.stringify(contents), { mode: 0o600 });
  /** local.file only reads its file at start-up. */
  const reloadSecretStore = () => stack.proc('daprd:gateway-service').restart();

  const stack = useStack({
    components: 'memory',
    secrets: { ...secrets, 'gateway-api-keys': withMalformed },
    apps: serviceApps({ gatewayEnv: { API_KEYS_REFRESH_MS: '200', LOG_LEVEL: 'info' } }),
  });

  beforeAll(() => {
    gateway = stack.appUrl('gateway-service');
  });

  test('when the key list holds a malformed entry, then the gateway is ready and the valid keys are accepted', async () => {
    // The harness waited for /readyz: the very first request must not be a 401 or a 503.
    expect(await ask()).toBe(200);
    expect((await fetch(`${gateway}/readyz`)).status).toBe(200);
    expect(stack.proc('gateway-service').logTail(200)).toMatch(/malformed API-key entry skipped/);
  });

  test('when the key secret is deleted, then every key is revoked (401) with the gateway still ready and not restarted; restoring it re-admits them', async () => {
    const pid = stack.proc('gateway-service').pid;
    const { 'gateway-api-keys': _removed, ...rest } = secrets;
    writeSecrets(rest);
    await reloadSecretStore();
    expect(await askUntil(401)).toBe(401);
    expect((await fetch(`${gateway}/readyz`)).status).toBe(200); // an empty list is a loaded list
    expect(stack.proc('gateway-service').pid).toBe(pid);

    writeSecrets(secrets);
    await reloadSecretStore();
    expect(await askUntil(200)).toBe(200);
  }, 60_000);
});
