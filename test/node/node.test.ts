/**
 * A real node (`make check-node`, the jest project `node`): a Deployment of an image built
 * here runs on kubelet + containerd, passes its readiness probe, and answers from the host
 * through its Service (ClusterIP and NodePort, both by kube-proxy); each app image runs
 * under the EKS overlay's Deployment (without its sidecar: alive, not Ready); then the
 * teardown leaves nothing behind. Binaries from `third_party/build kube --node`; host packages from
 * scripts/node-prereqs.sh.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { TEST_VALUES } from '../cluster/eks-overlay';
import { installDapr } from './dapr';
import { AI_CORE_IMAGE, GATEWAY_IMAGE, logTail, podLog, RUNTIME_IMAGE, startNode, type TestNode } from './node';

jest.setTimeout(180_000);

const NS = 'node-smoke';
const ARTIFACTS = path.join(__dirname, '../../test-artifacts/node');
// Stands in for an app: answers / with its Pod name, and /healthz once it has listened; as
// PID 1 it must end on SIGTERM itself (the kernel ignores signals PID 1 has no handler for).
const SERVER = `const server = require('node:http').createServer((req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end(req.url === '/healthz' ? 'ok' : 'hello from ' + process.env.POD_NAME);
}).listen(8080);
process.on('SIGTERM', () => server.close(() => process.exit(0)));`;

let node: TestNode | undefined;

beforeAll(async () => {
  node = await startNode();
  await node.importImage(RUNTIME_IMAGE);
}, 600_000);

afterAll(async () => {
  const left = await node?.stop();
  if (node) console.log(`check-node timings (ms): ${JSON.stringify(node.timings)}`);
  if (left?.length) throw new Error(`teardown left: ${left.join('; ')}`);
});

const manifests = () =>
  [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: NS,
        // As the app's namespace in k8s/base: Pods must pass the restricted profile.
        labels: { 'pod-security.kubernetes.io/enforce': 'restricted' },
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'hello', namespace: NS },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'hello' } },
        template: {
          metadata: { labels: { app: 'hello' } },
          spec: {
            automountServiceAccountToken: false,
            terminationGracePeriodSeconds: 5,
            securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: 'hello',
                image: RUNTIME_IMAGE,
                imagePullPolicy: 'Never',
                args: ['-e', SERVER],
                env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
                ports: [{ name: 'http', containerPort: 8080 }],
                readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
                resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ['ALL'] },
                },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'hello', namespace: NS },
      spec: { type: 'NodePort', selector: { app: 'hello' }, ports: [{ port: 80, targetPort: 'http' }] },
    },
  ]
    .map((o) => JSON.stringify(o))
    .join('\n');

async function text(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.text() };
}

test('a Deployment of an image built here becomes Ready and answers through its Service from the host', async () => {
  const n = node!;
  const t0 = Date.now();
  await n.kube.kubectl(['apply', '-f', '-'], manifests());
  const rollout = await n.kube.kubectlResult(['-n', NS, 'rollout', 'status', 'deployment/hello', '--timeout=120s']);
  if (rollout.code !== 0) {
    const pods = await n.kube.kubectlResult(['-n', NS, 'describe', 'pods']);
    throw new Error(
      `rollout: ${rollout.stderr}\n${pods.stdout}\n--- kubelet ---\n${logTail(n.dir, 'kubelet')}\n--- containerd ---\n${logTail(n.dir, 'containerd')}`,
    );
  }
  n.timings['pod ready'] = Date.now() - t0;

  const pod = await n.kube.json<{ items: { metadata: { name: string }; status: { podIP: string } }[] }>([
    '-n',
    NS,
    'get',
    'pods',
    '-l',
    'app=hello',
  ]);
  const [first] = pod.items;
  expect(first?.status.podIP).toMatch(/^10\.241\.0\./);
  const svc = await n.kube.json<{ spec: { clusterIP: string; ports: { nodePort: number }[] } }>([
    '-n',
    NS,
    'get',
    'service',
    'hello',
  ]);
  const expected = { status: 200, body: `hello from ${first?.metadata.name}` };
  // kube-proxy programs the Service once the EndpointSlice has the ready Pod: poll briefly.
  const clusterUrl = `http://${svc.spec.clusterIP}/`;
  const nodePortUrl = `http://${n.net.nodeIp}:${svc.spec.ports[0]?.nodePort}/`;
  for (const url of [clusterUrl, nodePortUrl]) {
    const deadline = Date.now() + 30_000;
    let last: unknown;
    for (;;) {
      try {
        last = await text(url);
        if ((last as { status: number }).status === 200) break;
      } catch (err) {
        last = err;
      }
      if (Date.now() > deadline) throw new Error(`${url}: ${String(last)}\n${logTail(n.dir, 'kube-proxy')}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(last).toEqual(expected);
  }
  n.timings['service answered'] = Date.now() - t0;
});

// Run in a Pod: `hello` by its short name through CoreDNS and kube-proxy, then the apiserver
// through the `kubernetes` Service with the Pod's own token, verified against the cluster CA.
const IN_CLUSTER = `const fs = require('node:fs');
const sa = '/var/run/secrets/kubernetes.io/serviceaccount/';
(async () => {
  const { address } = await require('node:dns/promises').lookup('hello');
  const hello = await (await fetch('http://hello/')).text();
  const api = await new Promise((resolve, reject) => require('node:https').get('https://kubernetes.default.svc/api', {
    ca: fs.readFileSync(sa + 'ca.crt'), headers: { authorization: 'Bearer ' + fs.readFileSync(sa + 'token', 'utf8') },
  }, (res) => { let b = ''; res.on('data', (c) => (b += c)); res.on('end', () => resolve(res.statusCode + ' ' + b)); }).on('error', reject));
  console.log(JSON.stringify({ address, hello, api: api.slice(0, 3) }));
})().catch((e) => { console.log(JSON.stringify({ error: String(e) })); process.exit(1); });`;

test('a Pod finds a Service by name through CoreDNS and reaches the API server through the kubernetes Service', async () => {
  const n = node!;
  const job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'in-cluster', namespace: NS },
    spec: {
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: 'Never',
          securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'probe',
              image: RUNTIME_IMAGE,
              imagePullPolicy: 'Never',
              args: ['-e', IN_CLUSTER],
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
            },
          ],
        },
      },
    },
  };
  await n.kube.kubectl(['apply', '-f', '-'], JSON.stringify(job));
  const status = () =>
    n.kube.json<{ status: { succeeded?: number; failed?: number } }>(['-n', NS, 'get', 'job/in-cluster']);
  const deadline = Date.now() + 90_000;
  let s = (await status()).status;
  while (!s.succeeded && !s.failed && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    s = (await status()).status;
  }
  const output = podLog(n.dir, NS, 'in-cluster-', 'probe');
  if (!s.succeeded)
    throw new Error(`the Job did not succeed (${JSON.stringify(s)}):\n${output}\n${logTail(n.dir, 'kubelet')}`);
  const hello = await n.kube.kubectl(['-n', NS, 'get', 'service', 'hello', '-o', 'jsonpath={.spec.clusterIP}']);
  const seen = JSON.parse(output.trim().split('\n').pop() ?? '{}') as Record<string, string>;
  // The answering Pod's name ends in generated suffixes: compare up to them.
  expect({ ...seen, hello: seen['hello']?.replace(/^(hello from hello)-.*$/, '$1') }).toEqual({
    address: hello.trim(),
    hello: 'hello from hello',
    api: '200',
  });
});

// An app for the Dapr test: /hello answers with its Pod's name; /call/<app id> calls that app's
// /hello through its own sidecar (Dapr service invocation: name resolution, mTLS, sentry identities).
const DAPR_APP = `const server = require('node:http').createServer(async (req, res) => {
  if (req.url === '/healthz') return res.end('ok');
  if (req.url === '/hello') return res.end('hello from ' + process.env.POD_NAME);
  if (!req.url.startsWith('/call/')) return res.writeHead(404).end();
  try {
    const r = await fetch('http://127.0.0.1:3500/v1.0/invoke/' + req.url.slice(6) + '/method/hello');
    res.writeHead(r.status).end(await r.text());
  } catch (e) {
    res.writeHead(599).end(String(e));
  }
}).listen(8080);
process.on('SIGTERM', () => server.close(() => process.exit(0)));`;

test('the Dapr control plane runs from its chart as Pods; injected sidecars get identities from sentry and invoke each other by app id', async () => {
  const n = node!;
  let t = Date.now();
  await installDapr(n);
  n.timings['dapr control plane ready'] = Date.now() - t;
  t = Date.now();
  const ns = 'dapr-smoke';
  const app = (name: string) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: {
          labels: { app: name },
          annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': name, 'dapr.io/app-port': '8080' },
        },
        spec: {
          terminationGracePeriodSeconds: 5,
          securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'app',
              image: RUNTIME_IMAGE,
              imagePullPolicy: 'Never',
              args: ['-e', DAPR_APP],
              env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
              ports: [{ name: 'http', containerPort: 8080 }],
              readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
            },
          ],
        },
      },
    },
  });
  const namespace = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
  };
  await n.kube.kubectl(
    ['apply', '-f', '-'],
    [namespace, app('caller'), app('callee')].map((o) => JSON.stringify(o)).join('\n'),
  );
  for (const name of ['caller', 'callee']) {
    const r = await n.kube.kubectlResult(['-n', ns, 'rollout', 'status', `deployment/${name}`, '--timeout=180s']);
    if (r.code !== 0) {
      const d = await n.kube.kubectlResult(['-n', ns, 'describe', 'pods', '-l', `app=${name}`]);
      throw new Error(`${name}: ${r.stderr}\n${d.stdout}\n${podLog(n.dir, ns, `${name}-`, 'daprd')}`);
    }
  }
  n.timings['dapr apps ready'] = Date.now() - t;
  const pods = await n.kube.json<{ items: PodStatus[] }>(['-n', ns, 'get', 'pods', '-l', 'app in (caller,callee)']);
  const byApp = (name: string) => pods.items.find((p) => p.metadata.name.startsWith(`${name}-`));
  // The injector added daprd, and it is Ready: it holds a certificate from sentry.
  expect(
    byApp('caller')
      ?.status.containerStatuses?.map((c) => [c.name, c.ready])
      .sort(),
  ).toEqual([
    ['app', true],
    ['daprd', true],
  ]);
  const res = await text(`http://${byApp('caller')?.status.podIP}:8080/call/callee.${ns}`);
  expect(res).toEqual({ status: 200, body: `hello from ${byApp('callee')?.metadata.name}` });
}, 600_000);

interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string } }[];
}
interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec: {
    replicas: number;
    template: { metadata: { annotations?: Record<string, string> }; spec: { containers: Container[] } };
  };
}
interface PodStatus {
  metadata: { name: string };
  status: {
    podIP?: string;
    containerStatuses?: { name: string; started?: boolean; restartCount: number; ready: boolean }[];
  };
}

let overlay: Obj[] | undefined;
/** The EKS overlay as `kubectl apply -k` sends it, with the docs' placeholders replaced by test/cluster's test values. */
async function eksOverlay(n: TestNode): Promise<Obj[]> {
  if (overlay) return overlay;
  let text = await n.kube.kubectl(['kustomize', path.join(__dirname, '../../k8s/overlays/eks')]);
  const values: Record<string, string> = {
    ...TEST_VALUES,
    KUBE_API_SERVICE_IP: (
      await n.kube.kubectl(['get', 'svc', 'kubernetes', '-n', 'default', '-o', 'jsonpath={.spec.clusterIP}'])
    ).trim(),
  };
  // Longest first: ALB_SUBNET_CIDR_A must not be cut by a shorter name.
  for (const name of Object.keys(values).sort((a, b) => b.length - a.length))
    text = text.replaceAll(name, values[name]!);
  overlay = parseAllDocuments(text).map((d) => d.toJS() as Obj);
  return overlay;
}

test.each([
  ['gateway-service', GATEWAY_IMAGE],
  ['ai-core-service', AI_CORE_IMAGE],
])(
  'the %s image runs under its EKS Deployment: non-root, read-only, alive by its liveness route, not Ready without its sidecar',
  async (app, image) => {
    const n = node!;
    const t0 = Date.now();
    await n.importImage(image);
    n.timings[`${app} image imported`] = Date.now() - t0;
    const rendered = await eksOverlay(n);
    const pick = (kind: string, name: string) => {
      const o = rendered.find((x) => x.kind === kind && x.metadata.name === name);
      if (!o) throw new Error(`the EKS overlay renders no ${kind} ${name}`);
      return structuredClone(o);
    };
    const namespace = pick('Namespace', 'context-qa');
    const ns = namespace.metadata.name;
    const deployment = pick('Deployment', app);
    // What this node cannot have yet: the sidecar injector (so no dapr.io/ annotations) and
    // the ECR image (ours, imported). Everything else is the production Pod spec.
    const template = deployment.spec.template;
    template.metadata.annotations = Object.fromEntries(
      Object.entries(template.metadata.annotations ?? {}).filter(([k]) => !k.startsWith('dapr.io/')),
    );
    deployment.spec.replicas = 1;
    const [container] = template.spec.containers;
    if (!container) throw new Error(`Deployment ${app} has no container`);
    container.image = image;
    container.imagePullPolicy = 'Never';
    // What the Pod refers to: its ServiceAccount, ConfigMaps, and secrets (step 5 of the docs: test values).
    const configMaps = (container.envFrom ?? []).flatMap((e) =>
      e.configMapRef ? [pick('ConfigMap', e.configMapRef.name)] : [],
    );
    const secrets = (container.env ?? []).flatMap((e) => {
      const ref = e.valueFrom?.secretKeyRef;
      return ref
        ? [
            {
              apiVersion: 'v1',
              kind: 'Secret',
              metadata: { name: ref.name, namespace: ns },
              stringData: { [ref.key]: randomBytes(16).toString('hex') },
            },
          ]
        : [];
    });
    const objects = [namespace, pick('ServiceAccount', app), ...configMaps, ...secrets, deployment];
    await n.kube.kubectl(['apply', '-f', '-'], objects.map((o) => JSON.stringify(o)).join('\n'));

    const started = async () => {
      const pods = await n.kube.json<{ items: PodStatus[] }>([
        '-n',
        ns,
        'get',
        'pods',
        '-l',
        `app.kubernetes.io/name=${app}`,
      ]);
      const p = pods.items[0];
      return p?.status.containerStatuses?.[0]?.started && p.status.podIP ? p : undefined;
    };
    let pod: PodStatus | undefined;
    const deadline = Date.now() + 90_000;
    while (!(pod = await started())) {
      if (Date.now() > deadline) {
        const d = await n.kube.kubectlResult(['-n', ns, 'describe', 'pods', '-l', `app.kubernetes.io/name=${app}`]);
        throw new Error(
          `the ${app} container never started:\n${d.stdout}\n--- kubelet ---\n${logTail(n.dir, 'kubelet')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    const port = container.ports?.find((p) => p.name === 'http')?.containerPort;
    const base = `http://${pod.status.podIP}:${port}`;
    let health: { status: number; body: string } | undefined;
    for (let i = 0; i < 60 && health?.status !== 200; i++) {
      health = await text(`${base}/healthz`).catch(() => undefined);
      if (health?.status !== 200) await new Promise((r) => setTimeout(r, 500));
    }
    // Its log (the kubelet removes it with the Pod) for a post-mortem: test-artifacts/node/.
    const podName = pod.metadata.name;
    const saveLog = () => {
      const text = podLog(n.dir, ns, `${podName}_`, app);
      mkdirSync(ARTIFACTS, { recursive: true });
      writeFileSync(path.join(ARTIFACTS, `${app}.log`), text);
      return text;
    };
    if (health?.status !== 200)
      throw new Error(`${app}: GET ${base}/healthz never answered 200. Its log:\n${saveLog()}`);
    n.timings[`${app} alive`] = Date.now() - t0;
    expect((await text(`${base}/readyz`)).status).toBe(503);
    // Past two readiness periods (5 s): the kubelet agrees, and the container has not restarted.
    await new Promise((r) => setTimeout(r, 11_000));
    const after = await started();
    saveLog();
    expect(after?.status.containerStatuses?.[0]).toMatchObject({ ready: false, restartCount: 0 });
  },
  150_000,
);

test('teardown stops every process and leaves no mount, bridge, iptables chain or cgroup behind', async () => {
  const left = await node!.stop();
  expect(left).toEqual([]);
});
