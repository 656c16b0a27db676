/**
 * Zero trust for real: Dapr sentry issues SPIFFE certificates, the sidecars talk
 * mTLS, and ai-core's sidecar enforces the access-control policy shipped for EKS
 * (k8s/base/dapr/configuration.yaml). Tokens guard both sidecar APIs and the app port.
 * Every ai-core route the gateway calls (AI_CORE_ROUTES) is exercised through the
 * public API under that policy: a route left out of it is down on EKS only.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { AI_CORE_ROUTES, type AiCoreRoute, DEFAULT_TENANT, TENANT_HEADER } from '@context-qa/common/contract';
import { DEV_KEYS, repoRoot, serviceApps, useStack } from '@context-qa/testkit';

const DAPR_API_TOKEN = 'sidecar-api-token-for-tests';
const APP_API_TOKEN = 'app-token-for-tests';

/** A request to the public gateway that reaches one ai-core route, and what it must answer. */
interface PublicCall {
  what: string;
  method: string;
  path: string;
  key: string;
  body?: unknown;
  check: (res: Response) => Promise<void>;
}
type Verb<R extends AiCoreRoute> = (typeof AI_CORE_ROUTES)[R]['verbs'][number];

const chat = (stream: boolean) => ({ model: 'auto', stream, messages: [{ role: 'user', content: 'allowed on EKS?' }] });
const ok = (expectBody: (text: string) => void) => async (res: Response) => {
  const text = await res.text();
  expect({ status: res.status, ...(res.status === 200 ? {} : { text }) }).toEqual({ status: 200 }); // the body only when it failed
  expectBody(text);
};
const CONTEXT = '/v1/context/mtls%2Fhandbook';

/**
 * For each ai-core route and each of its verbs, the public requests that make the gateway
 * call it (the type demands one per verb: a route added to AI_CORE_ROUTES must be tried here).
 * In order: the context is written before it is read and deleted.
 */
const PUBLIC_CALLS: { [R in AiCoreRoute]: Record<Verb<R>, PublicCall[]> } = {
  process: {
    POST: [
      {
        what: 'POST /v1/prompt',
        method: 'POST',
        path: '/v1/prompt',
        key: DEV_KEYS.ask,
        body: { prompt: 'end to end' },
        check: ok((t) => expect(t).toContain('end to end')),
      },
      {
        what: 'POST /prompt',
        method: 'POST',
        path: '/prompt?prompt=sketch%20route',
        key: DEV_KEYS.ask,
        check: ok((t) => expect(t).toContain('sketch route')),
      },
    ],
  },
  context: {
    PUT: [
      {
        what: 'PUT /v1/context/{key}',
        method: 'PUT',
        path: CONTEXT,
        key: DEV_KEYS.admin,
        body: { text: 'Laptops on day one.' },
        check: ok(() => undefined),
      },
    ],
    GET: [
      {
        what: 'GET /v1/context/{key}',
        method: 'GET',
        path: CONTEXT,
        key: DEV_KEYS.admin,
        check: ok((t) => expect(t).toContain('Laptops on day one.')),
      },
    ],
    DELETE: [
      {
        what: 'DELETE /v1/context/{key}',
        method: 'DELETE',
        path: CONTEXT,
        key: DEV_KEYS.admin,
        check: ok(() => undefined),
      },
    ],
  },
  chatCompletions: {
    POST: [
      {
        what: 'POST /v1/chat/completions',
        method: 'POST',
        path: '/v1/chat/completions',
        key: DEV_KEYS.ask,
        body: chat(false),
        check: ok((t) => expect(t).toContain('"chat.completion"')),
      },
      {
        what: 'POST /v1/chat/completions (stream)',
        method: 'POST',
        path: '/v1/chat/completions',
        key: DEV_KEYS.ask,
        body: chat(true),
        check: ok((t) => {
          expect(t).toContain('"chat.completion.chunk"');
          expect(t.trimEnd()).toMatch(/data: \[DONE\]$/);
        }),
      },
    ],
  },
  models: {
    GET: [
      {
        what: 'GET /v1/models',
        method: 'GET',
        path: '/v1/models',
        key: DEV_KEYS.ask,
        check: ok((t) => expect(t).toContain('"gpt4"')),
      },
    ],
  },
};
const publicCalls = Object.entries(PUBLIC_CALLS).flatMap(([route, byVerb]) =>
  Object.entries(byVerb as Record<string, PublicCall[]>).flatMap(([verb, calls]) =>
    calls.map((c) => ({ route, verb, ...c })),
  ),
);

/** The part of the EKS Dapr Configuration this test reads. */
interface EksConfiguration {
  spec: { accessControl: { policies: { namespace: string }[] } };
}

describe('mTLS and access control with real sentry and sidecars', () => {
  const eks = parse(readFileSync(path.join(repoRoot, 'k8s/base/dapr/configuration.yaml'), 'utf8')) as EksConfiguration;
  const namespace = eks.spec.accessControl.policies[0]!.namespace;

  const stack = useStack(() => {
    const [aiCore, gateway] = serviceApps({
      aiCoreEnv: { APP_API_TOKEN, DAPR_API_TOKEN },
      gatewayEnv: { DAPR_API_TOKEN },
    });
    return {
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
    };
  });

  const invoke = (from: string, method: string, path: string, body?: unknown, token: string | null = DAPR_API_TOKEN) =>
    fetch(`${stack.sidecar(from).httpUrl}/v1.0/invoke/ai-core-service/method${path}`, {
      method,
      // The tenant header, as the gateway sets it (docs/tenants-and-limits.md "Tenants"): ai-core refuses /process without one.
      headers: {
        ...(token ? { 'dapr-api-token': token } : {}),
        [TENANT_HEADER]: DEFAULT_TENANT,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
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

  test('every ai-core route and verb the gateway calls has a public request below', () => {
    const tried = new Set(publicCalls.map((c) => `${c.verb} ${c.route}`));
    const listed = Object.entries(AI_CORE_ROUTES).flatMap(([route, { verbs }]) => verbs.map((v) => `${v} ${route}`));
    expect([...tried].sort()).toEqual(listed.sort());
  });

  test.each(publicCalls)(
    "when $what is sent to the public gateway, then ai-core's sidecar lets the gateway call $verb $route",
    async (c) => {
      const res = await fetch(`${stack.appUrl('gateway-service')}${c.path}`, {
        method: c.method,
        headers: { authorization: `Bearer ${c.key}`, ...(c.body ? { 'content-type': 'application/json' } : {}) },
        ...(c.body ? { body: JSON.stringify(c.body) } : {}),
      });
      await c.check(res);
    },
  );

  // A made-up route, and each listed route with a verb it is not listed with: the policy admits no more than the gateway calls.
  const denied: [string, string][] = [
    ['POST', '/v1/admin/flush'],
    ['GET', '/metrics'],
    ['DELETE', AI_CORE_ROUTES.process.path],
    ['POST', AI_CORE_ROUTES.context.path],
    ['GET', AI_CORE_ROUTES.chatCompletions.path],
    ['POST', AI_CORE_ROUTES.models.path],
  ];
  test.each(denied)(
    "when the gateway's sidecar invokes %s %s, which the gateway never calls, then ai-core's sidecar denies it (403)",
    async (method, route) => {
      const res = await invoke('gateway-service', method, route);
      expect({ status: res.status, body: await res.text() }).toEqual({
        status: 403,
        body: expect.stringMatching(/ERR_PERMISSION_DENIED|access control policy/i) as string,
      });
    },
  );

  test('when DAPR_API_TOKEN is set, then calling the sidecar API without it is refused', async () => {
    expect((await invoke('gateway-service', 'POST', '/process', { prompt: 'x' }, null)).status).toBe(401);
    expect((await invoke('gateway-service', 'POST', '/process', { prompt: 'x' }, 'wrong')).status).toBe(401);
  });

  test("when APP_API_TOKEN is set, then calling ai-core's port directly without it is refused", async () => {
    const direct = `${stack.appUrl('ai-core-service')}/process`;
    const post = (headers: Record<string, string>) =>
      fetch(direct, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [TENANT_HEADER]: DEFAULT_TENANT, ...headers },
        body: '{"prompt":"x"}',
      });
    expect((await post({})).status).toBe(401);
    expect((await post({ 'dapr-api-token': APP_API_TOKEN })).status).toBe(200);
  });
});
