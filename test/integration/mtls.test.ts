/**
 * Zero trust for real: Dapr sentry issues SPIFFE certificates, the sidecars talk
 * mTLS, and ai-core's sidecar enforces the access-control policy shipped for EKS
 * (k8s/base/dapr/configuration.yaml). Tokens guard both sidecar APIs and the app port.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { DEV_KEYS, repoRoot, serviceApps, Stack } from '@context-qa/testkit';

const DAPR_API_TOKEN = 'sidecar-api-token-for-tests';
const APP_API_TOKEN = 'app-token-for-tests';

/** The part of the EKS Dapr Configuration this test reads. */
interface EksConfiguration {
  spec: { accessControl: { policies: { namespace: string }[] } };
}

describe('mTLS and access control with real sentry and sidecars', () => {
  let stack: Stack;
  const eks = parse(readFileSync(path.join(repoRoot, 'k8s/base/dapr/configuration.yaml'), 'utf8')) as EksConfiguration;
  const namespace = eks.spec.accessControl.policies[0]!.namespace;

  beforeAll(async () => {
    const [aiCore, gateway] = serviceApps({
      aiCoreEnv: { APP_API_TOKEN, DAPR_API_TOKEN },
      gatewayEnv: { DAPR_API_TOKEN },
    });
    stack = await new Stack({
      components: 'memory',
      mtls: true,
      namespace,
      config: (doc) => {
        doc.spec.accessControl = eks.spec.accessControl; // the production policy, unchanged
      },
      apps: [
        { ...aiCore!, sidecarEnv: { APP_API_TOKEN, DAPR_API_TOKEN } },
        { ...gateway!, sidecarEnv: { DAPR_API_TOKEN } },
        { appId: 'intruder', noApp: true },
      ],
    }).start();
  }, 120_000);
  afterAll(() => stack?.stop());

  const invoke = (from: string, method: string, path: string, body?: unknown, token: string | null = DAPR_API_TOKEN) =>
    fetch(`${stack.sidecar(from).httpUrl}/v1.0/invoke/ai-core-service/method${path}`, {
      method,
      headers: { ...(token ? { 'dapr-api-token': token } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });

  test("when gateway-service's sidecar calls ai-core's /process over mTLS, then it is allowed", async () => {
    const res = await invoke('gateway-service', 'POST', '/process', { prompt: 'allowed?' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { answer: string }).answer).toContain('allowed?');
  });

  test('when a sidecar with another app id calls ai-core, then its sidecar refuses (403)', async () => {
    const res = await invoke('intruder', 'POST', '/process', { prompt: 'let me in' }, null);
    expect(res.status).toBe(403);
    expect(await res.text()).toMatch(/ERR_PERMISSION_DENIED|access control policy/i);
  });

  test('when the gateway calls an operation the policy does not list, then it is refused too', async () => {
    expect((await invoke('gateway-service', 'GET', '/healthz')).status).toBe(403);
  });

  test('when DAPR_API_TOKEN is set, then calling the sidecar API without it is refused', async () => {
    expect((await invoke('gateway-service', 'POST', '/process', { prompt: 'x' }, null)).status).toBe(401);
    expect((await invoke('gateway-service', 'POST', '/process', { prompt: 'x' }, 'wrong')).status).toBe(401);
  });

  test("when APP_API_TOKEN is set, then calling ai-core's port directly without it is refused", async () => {
    const direct = `${stack.appUrl('ai-core-service')}/process`;
    const post = (headers: Record<string, string>) => fetch(direct, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"prompt":"x"}' });
    expect((await post({})).status).toBe(401);
    expect((await post({ 'dapr-api-token': APP_API_TOKEN })).status).toBe(200);
  });

  test('when the public gateway is used, then the whole chain still answers over mTLS', async () => {
    const res = await fetch(`${stack.appUrl('gateway-service')}/v1/prompt`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEV_KEYS.ask}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'end to end' }),
    });
    expect(res.status).toBe(200);
  });
});
