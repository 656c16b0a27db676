/**
 * The EKS overlay on a real Kubernetes control plane (1.34) with the real Dapr control
 * plane (1.18.3): what the cluster does with our manifests, not what a schema says.
 * `make check-cluster` (the jest project `cluster`); binaries from `third_party/build kube`.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { startCluster, type Cluster, type Deployment } from './cluster';
import { DAPR_VERSION, NS as DAPR_NS } from './dapr';
import { APP_NS, SECRETS } from './eks-overlay';
import { KUBE_BIN } from './kube';

jest.setTimeout(120_000);

interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
}
interface Pod {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { serviceAccountName: string; containers: Container[] };
}
interface Stored {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}
type Annotated = Deployment & { spec: { template: { metadata: { annotations: Record<string, string> } } } };

let cluster: Cluster;
const kubectl = (args: string[], stdin?: string) => cluster.kube.kubectl(args, stdin);

beforeAll(async () => {
  cluster = await startCluster();
}, 600_000);

afterAll(async () => {
  await cluster?.stop();
});

const rendered = (kind: string) => cluster.applied.objects.filter((o) => o.kind === kind) as unknown as Stored[];
const deployments = () => rendered('Deployment') as unknown as Annotated[];
const podsOf = async (d: Deployment) =>
  (
    await cluster.kube.json<{ items: Pod[] }>([
      '-n',
      APP_NS,
      'get',
      'pods',
      '-l',
      `app.kubernetes.io/name=${d.spec.selector.matchLabels['app.kubernetes.io/name']}`,
    ])
  ).items;

/** `--flag value` (or a lone `--flag`) in daprd's args. */
function flag(args: string[], name: string): string | true | undefined {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const next = args[i + 1];
  return next === undefined || next.startsWith('--') ? true : next;
}

test('the API server accepts every object of the overlay and stores each one', async () => {
  const objects = cluster.applied.objects;
  expect(objects.length).toBeGreaterThan(20);
  const stored = await cluster.kube.json<{ items: Stored[] }>(['get', '-k', cluster.applied.dir]);
  expect(stored.items.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
    objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(),
  );
  // apply -k created everything (the namespace already existed from step 5).
  const lines = cluster.applied.applyOutput.trim().split('\n');
  expect(lines).toHaveLength(objects.length);
  for (const l of lines) expect(l).toMatch(/ (created|configured)$/);
});

test('the Dapr CRDs installed are the ones make check-manifests validates against (k8s/schemas/dapr)', () => {
  const dir = path.join(__dirname, '../../k8s/schemas/dapr');
  const vendored = readdirSync(dir).flatMap((f) =>
    parseAllDocuments(readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJS() as Stored),
  );
  expect(vendored.length).toBeGreaterThan(0);
  for (const crd of vendored.filter((d) => d.kind === 'CustomResourceDefinition')) {
    const installed = cluster.dapr.rendered.find(
      (m) => m.kind === 'CustomResourceDefinition' && m.metadata.name === crd.metadata.name,
    );
    expect([crd.metadata.name, installed?.spec]).toEqual([crd.metadata.name, crd.spec]);
  }
});

describe.each(['gateway-service', 'ai-core-service'])('Deployment %s', (name) => {
  const deployment = () => deployments().find((d) => d.metadata.name === name)!;

  test('has its Pods, each with a daprd container configured from its annotations', async () => {
    const d = deployment();
    const ann = d.spec.template.metadata.annotations;
    const pods = await podsOf(d);
    expect(pods).toHaveLength(d.spec.replicas);
    for (const pod of pods) {
      const daprd = pod.spec.containers.find((c) => c.name === 'daprd');
      expect(daprd).toBeDefined();
      const args = daprd!.args ?? [];
      expect(daprd!.image).toBe(`ghcr.io/dapr/daprd:${DAPR_VERSION}`);
      expect(flag(args, 'mode')).toBe('kubernetes');
      expect(flag(args, 'app-id')).toBe(ann['dapr.io/app-id']);
      expect(flag(args, 'app-port')).toBe(ann['dapr.io/app-port']);
      expect(flag(args, 'config')).toBe(ann['dapr.io/config']);
      expect(flag(args, 'log-level')).toBe(ann['dapr.io/log-level']);
      expect(flag(args, 'log-as-json')).toBe(true);
      expect(flag(args, 'enable-metrics')).toBe(true);
      expect(flag(args, 'metrics-port')).toBe(ann['dapr.io/metrics-port']);
      expect(flag(args, 'enable-mtls')).toBe(true);
      expect(flag(args, 'sentry-address')).toBe(`dapr-sentry.${DAPR_NS}.svc.cluster.local:443`);
      expect(flag(args, 'dapr-graceful-shutdown-seconds')).toBe(ann['dapr.io/graceful-shutdown-seconds']);
      expect(flag(args, 'dapr-block-shutdown-duration')).toBe(ann['dapr.io/block-shutdown-duration']);
      expect(flag(args, 'enable-app-health-check')).toBe(true);
      expect(flag(args, 'app-health-check-path')).toBe(ann['dapr.io/app-health-check-path']);
      expect(daprd!.resources).toEqual({
        requests: { cpu: ann['dapr.io/sidecar-cpu-request'], memory: ann['dapr.io/sidecar-memory-request'] },
        limits: { cpu: ann['dapr.io/sidecar-cpu-limit'], memory: ann['dapr.io/sidecar-memory-limit'] },
      });
      expect(daprd!.securityContext).toMatchObject({
        seccompProfile: { type: ann['dapr.io/sidecar-seccomp-profile-type'] },
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      });
      // Tokens come from this Deployment's own secrets, under Dapr's key "token".
      const fromSecret = (env: string) => daprd!.env?.find((e) => e.name === env)?.valueFrom?.secretKeyRef;
      expect(fromSecret('DAPR_API_TOKEN')).toEqual({ name: ann['dapr.io/api-token-secret'], key: 'token' });
      expect(fromSecret('APP_API_TOKEN')).toEqual(
        ann['dapr.io/app-token-secret'] ? { name: ann['dapr.io/app-token-secret'], key: 'token' } : undefined,
      );
      expect(pod.spec.serviceAccountName).toBe(name);
    }
  });

  test('its injected Pods pass Pod Security "restricted", and would not without the sidecar dropping ALL capabilities', async () => {
    const labels = (
      await cluster.kube.json<{ metadata: { labels: Record<string, string> } }>(['get', 'namespace', APP_NS])
    ).metadata.labels;
    expect(labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const [pod] = await podsOf(deployment());
    // Resubmit the stored Pod (sidecar included) as is: admission checks every container.
    const again = (p: Pod) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `${p.metadata.name}-again`, namespace: APP_NS, annotations: p.metadata.annotations },
      spec: p.spec,
    });
    const ok = await cluster.kube.kubectlResult(['create', '--dry-run=server', '-f', '-'], JSON.stringify(again(pod!)));
    expect(ok.stderr).not.toMatch(/PodSecurity|Warning/);
    expect(ok.code).toBe(0);
    const weakened = structuredClone(pod!);
    const daprd = weakened.spec.containers.find((c) => c.name === 'daprd')!;
    daprd.securityContext = { ...daprd.securityContext, capabilities: {} };
    const rejected = await cluster.kube.kubectlResult(
      ['create', '--dry-run=server', '-f', '-'],
      JSON.stringify(again(weakened)),
    );
    expect(rejected.code).not.toBe(0);
    expect(rejected.stderr).toMatch(
      /violates PodSecurity "restricted:latest".*container "daprd" must set securityContext\.capabilities\.drop=\["ALL"\]/s,
    );
  });
});

test('Pod Security is enforced: a non-compliant Pod is rejected', async () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'not-restricted', namespace: APP_NS },
    spec: { containers: [{ name: 'app', image: 'registry.example/app:1', securityContext: { privileged: true } }] },
  };
  const r = await cluster.kube.kubectlResult(['create', '-f', '-'], JSON.stringify(pod));
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(/forbidden: violates PodSecurity "restricted:latest": privileged/);
  expect((await cluster.kube.kubectlResult(['-n', APP_NS, 'get', 'pod', 'not-restricted'])).code).not.toBe(0);
});

interface ProbeAnswer {
  identity: string;
  components: {
    metadata: { name: string };
    spec: { type: string; metadata?: { name: string; value?: unknown }[] };
    scopes?: string[];
  }[];
  configuration: {
    metadata: { name: string };
    spec: { accessControl?: { trustDomain?: string; defaultAction?: string } };
  };
  resiliencies: { metadata: { name: string } }[];
}

/** What a sidecar of `app` gets from the operator, asked with that app's identity from sentry. */
async function asSidecarOf(app: string): Promise<ProbeAnswer> {
  const d = deployments().find((x) => x.metadata.name === app)!;
  const [pod] = await podsOf(d);
  const audience = `spiffe://cluster.local/ns/${DAPR_NS}/dapr-sentry`;
  const token = await kubectl([
    '-n',
    APP_NS,
    'create',
    'token',
    app,
    `--audience=${audience}`,
    '--bound-object-kind=Pod',
    `--bound-object-name=${pod!.metadata.name}`,
  ]);
  const tokenFile = path.join(cluster.kube.dir, `${app}.token`);
  writeFileSync(tokenFile, token.trim(), { mode: 0o600 });
  const answer = path.join(cluster.kube.dir, `${app}.answer.json`);
  await promisify(execFile)(
    path.join(KUBE_BIN, 'sidecar-probe'),
    [
      `--app-id=${app}`,
      `--config=${d.spec.template.metadata.annotations['dapr.io/config']}`,
      `--sentry-address=${cluster.dapr.sentryAddress}`,
      `--operator-address=${cluster.dapr.operatorAddress}`,
      `--trust-anchors-file=${cluster.dapr.trustAnchorsFile}`,
      `--out=${answer}`,
    ],
    {
      env: {
        PATH: process.env['PATH'],
        NAMESPACE: APP_NS,
        DAPR_SENTRY_TOKEN_FILE: tokenFile,
        DAPR_UNSAFE_SKIP_CONTAINER_UID_GID_CHECK: 'true',
      },
      timeout: 90_000,
    },
  );
  return JSON.parse(readFileSync(answer, 'utf8')) as ProbeAnswer;
}

interface RenderedComponent {
  metadata: { name: string };
  spec: { metadata?: { name: string; secretKeyRef?: { name: string; key: string } }[] };
  scopes?: string[];
}

test.each(['gateway-service', 'ai-core-service'])(
  "the Dapr operator serves %s's sidecar, by its identity from sentry, its Components (secrets resolved), Configuration and Resiliency",
  async (app) => {
    const answer = await asSidecarOf(app);
    // sentry checked the token's Pod, service account and app id; the trust domain is our Configuration's.
    expect(answer.identity).toBe(`spiffe://public/ns/${APP_NS}/${app}`);
    // The operator applies the Components' scopes: each sidecar gets only its own.
    const mine = (rendered('Component') as unknown as RenderedComponent[]).filter(
      (c) => !c.scopes || c.scopes.includes(app),
    );
    expect(answer.components.map((c) => c.metadata.name).sort()).toEqual(mine.map((c) => c.metadata.name).sort());
    let resolved = 0;
    for (const c of mine) {
      for (const ref of (c.spec.metadata ?? []).filter((m) => m.secretKeyRef)) {
        const secret = await kubectl([
          '-n',
          APP_NS,
          'get',
          'secret',
          ref.secretKeyRef!.name,
          '-o',
          `jsonpath={.data.${ref.secretKeyRef!.key}}`,
        ]);
        const served = answer.components
          .find((x) => x.metadata.name === c.metadata.name)
          ?.spec.metadata?.find((m) => m.name === ref.name)?.value;
        // The operator serves it base64-encoded, as the Secret holds it (daprd decodes).
        // Compared, never printed: a mismatch must not put the secret in the test output.
        expect([`${c.metadata.name}.${ref.name} resolved`, secret !== '' && served === secret]).toEqual([
          `${c.metadata.name}.${ref.name} resolved`,
          true,
        ]);
        resolved++;
      }
    }
    expect(resolved).toBeGreaterThan(0);
    expect(answer.configuration.metadata.name).toBe('context-qa');
    expect(answer.configuration.spec.accessControl).toMatchObject({ defaultAction: 'deny', trustDomain: 'public' });
    expect(answer.resiliencies.map((r) => r.metadata.name)).toEqual(['context-qa']);
  },
);

test('the Dapr operator watches our Deployments: it made each app\'s "<app-id>-dapr" Service', async () => {
  for (const d of deployments()) {
    const svc = await cluster.kube.json<{ spec: { selector: Record<string, string>; ports: { name: string }[] } }>([
      '-n',
      APP_NS,
      'get',
      'service',
      `${d.spec.template.metadata.annotations['dapr.io/app-id']}-dapr`,
    ]);
    expect(svc.spec.selector).toEqual(d.spec.selector.matchLabels);
    expect(svc.spec.ports.map((p) => p.name)).toEqual(
      expect.arrayContaining(['dapr-http', 'dapr-grpc', 'dapr-internal', 'dapr-metrics']),
    );
  }
});

describe.each([
  ['gateway-service', ['gateway-api-keys']],
  ['ai-core-service', ['azure-openai-api-key']],
])('service account %s', (sa, own) => {
  // can-i prints yes or no (and exits 1 on no); anything else is an error, not a no.
  const can = async (...args: string[]) =>
    (
      await cluster.kube.kubectlResult(['auth', 'can-i', `--as=system:serviceaccount:${APP_NS}:${sa}`, ...args])
    ).stdout.trim();

  test('reads its own secrets and nothing else', async () => {
    for (const s of Object.keys(SECRETS))
      expect([s, await can('-n', APP_NS, 'get', `secret/${s}`)]).toEqual([s, own.includes(s) ? 'yes' : 'no']);
    for (const verb of ['list', 'watch', 'create', 'update', 'delete'])
      expect([verb, await can('-n', APP_NS, verb, 'secrets')]).toEqual([verb, 'no']);
    for (const s of own) expect(await can('-n', APP_NS, 'update', `secret/${s}`)).toBe('no');
    expect(await can('-n', DAPR_NS, 'get', 'secret/dapr-trust-bundle')).toBe('no');
    expect(await can('-n', 'kube-system', 'get', 'secrets')).toBe('no');
  });

  test('has no other permission in the namespace than reading those secrets', async () => {
    // Every rule, minus what every authenticated user has (self reviews, discovery URLs).
    const rules = (
      await kubectl([
        'auth',
        'can-i',
        '--list',
        '-n',
        APP_NS,
        `--as=system:serviceaccount:${APP_NS}:${sa}`,
        '--no-headers',
      ])
    )
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter(([first]) => !/^selfsubject/.test(first!) && !first!.startsWith('[/'));
    expect(rules).toEqual([['secrets', '[]', `[${own.join(' ')}]`, '[get]']]);
  });
});

test('the HPAs, PDBs, Ingress and NetworkPolicies are stored as written', async () => {
  for (const kind of ['HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Ingress', 'NetworkPolicy']) {
    const mine = rendered(kind);
    expect([kind, mine.length > 0]).toEqual([kind, true]);
    for (const o of mine) {
      const stored = await cluster.kube.json<Stored>(['-n', APP_NS, 'get', kind, o.metadata.name]);
      // The server may add defaults (protocol: TCP...), never drop or change what we wrote.
      expect(stored.spec).toMatchObject(o.spec);
      expect(stored.metadata.annotations ?? {}).toMatchObject(o.metadata.annotations ?? {});
    }
  }
});
