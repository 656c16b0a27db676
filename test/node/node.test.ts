/**
 * A real node (`make check-node`, the jest project `node`): a Deployment of an image built
 * here runs on kubelet + containerd, passes its readiness probe, and answers from the host
 * through its Service (ClusterIP and NodePort, both by kube-proxy); the gateway image runs
 * under the EKS overlay's Deployment (without its sidecar: alive, not Ready); then the
 * teardown leaves nothing behind. Binaries from `third_party/build kube --node`; host packages from
 * scripts/node-prereqs.sh.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { GATEWAY_IMAGE, logTail, RUNTIME_IMAGE, startNode, type TestNode } from './node';

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

interface Obj {
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
}
interface PodStatus {
  metadata: { name: string };
  status: {
    podIP?: string;
    phase: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { name: string; started?: boolean; restartCount: number; ready: boolean }[];
  };
}

test('the gateway image runs under its EKS Deployment: non-root, read-only, alive by its liveness route, not Ready without its sidecar', async () => {
  const n = node!;
  const t0 = Date.now();
  await n.importImage(GATEWAY_IMAGE);
  n.timings['gateway image imported'] = Date.now() - t0;
  const rendered = parseAllDocuments(
    await n.kube.kubectl(['kustomize', path.join(__dirname, '../../k8s/overlays/eks')]),
  ).map((d) => d.toJS() as Obj);
  const pick = (kind: string, name: string) => {
    const o = rendered.find((x) => x.kind === kind && x.metadata.name === name);
    if (!o) throw new Error(`the EKS overlay renders no ${kind} ${name}`);
    return o;
  };
  const namespace = pick('Namespace', 'context-qa');
  const ns = namespace.metadata.name;
  const deployment = pick('Deployment', 'gateway-service') as Obj & {
    spec: {
      replicas: number;
      template: {
        metadata: { annotations?: Record<string, string> };
        spec: { containers: { name: string; image: string; imagePullPolicy?: string }[] };
      };
    };
  };
  // What this node cannot have yet: the sidecar injector (no dapr.io annotations) and the
  // ECR image (ours, imported). Everything else is the production Pod spec.
  const template = deployment.spec.template;
  template.metadata.annotations = Object.fromEntries(
    Object.entries(template.metadata.annotations ?? {}).filter(([k]) => !k.startsWith('dapr.io/')),
  );
  deployment.spec.replicas = 1;
  for (const c of template.spec.containers) {
    c.image = GATEWAY_IMAGE;
    c.imagePullPolicy = 'Never';
  }
  const objects = [namespace, pick('ServiceAccount', 'gateway-service'), deployment];
  await n.kube.kubectl(['apply', '-f', '-'], objects.map((o) => JSON.stringify(o)).join('\n'));
  await n.kube.kubectl([
    '-n',
    ns,
    'create',
    'secret',
    'generic',
    'gateway-dapr-api-token',
    `--from-literal=token=${randomBytes(16).toString('hex')}`,
  ]);

  const started = async () => {
    const pods = await n.kube.json<{ items: PodStatus[] }>([
      '-n',
      ns,
      'get',
      'pods',
      '-l',
      'app.kubernetes.io/name=gateway-service',
    ]);
    const p = pods.items[0];
    return p?.status.containerStatuses?.[0]?.started && p.status.podIP ? p : undefined;
  };
  let pod: PodStatus | undefined;
  const deadline = Date.now() + 90_000;
  while (!(pod = await started())) {
    if (Date.now() > deadline) {
      const d = await n.kube.kubectlResult(['-n', ns, 'describe', 'pods']);
      throw new Error(
        `the gateway container never started:\n${d.stdout}\n--- kubelet ---\n${logTail(n.dir, 'kubelet')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const base = `http://${pod.status.podIP}:8080`;
  let health: { status: number; body: string } | undefined;
  for (let i = 0; i < 60 && health?.status !== 200; i++) {
    health = await text(`${base}/healthz`).catch(() => undefined);
    if (health?.status !== 200) await new Promise((r) => setTimeout(r, 500));
  }
  expect(health?.status).toBe(200);
  n.timings['gateway alive'] = Date.now() - t0;
  expect((await text(`${base}/readyz`)).status).toBe(503);
  // Past two readiness periods (5 s): the kubelet agrees, and the container has not restarted.
  await new Promise((r) => setTimeout(r, 11_000));
  const after = await started();
  // Its log (the kubelet removes it with the Pod) for a post-mortem: test-artifacts/node/.
  const logs = path.join(n.dir, 'pod-logs');
  const podLog = readdirSync(logs).find((d) => d.startsWith(`${ns}_${pod.metadata.name}_`));
  if (podLog) {
    mkdirSync(ARTIFACTS, { recursive: true });
    copyFileSync(path.join(logs, podLog, 'gateway-service', '0.log'), path.join(ARTIFACTS, 'gateway-service.log'));
  }
  expect(after?.status.containerStatuses?.[0]).toMatchObject({ ready: false, restartCount: 0 });
}, 150_000);

test('teardown stops every process and leaves no mount, bridge, iptables chain or cgroup behind', async () => {
  const left = await node!.stop();
  expect(left).toEqual([]);
});
