/**
 * A real node (`make check-node`, the jest project `node`): a Deployment of an image built
 * here runs on kubelet + containerd, passes its readiness probe, and answers from the host
 * through its Service (ClusterIP and NodePort, both by kube-proxy); then the teardown
 * leaves nothing behind. Binaries from `third_party/build kube --node`; host packages from
 * scripts/node-prereqs.sh.
 */
import { logTail, RUNTIME_IMAGE, startNode, type TestNode } from './node';

jest.setTimeout(180_000);

const NS = 'node-smoke';
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

test('teardown stops every process and leaves no mount, bridge, iptables chain or cgroup behind', async () => {
  const left = await node!.stop();
  expect(left).toEqual([]);
});
