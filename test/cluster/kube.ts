/**
 * A Kubernetes control plane on loopback: etcd, kube-apiserver (RBAC, Pod Security
 * admission on by default, service-account token signing) and kube-controller-manager
 * (Deployments → ReplicaSets → Pods, created with the controllers' own service accounts,
 * as on EKS). No kubelet: Pods are admitted and stored, then stay Pending (test/node adds
 * a node, with the Node authorizer and token users for its components: KubeOptions).
 * Binaries: `third_party/build kube` (.tools/kube/bin).
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePorts, start, waitFor } from './processes';

export const KUBE_BIN = process.env['KUBE_BIN_DIR'] ?? path.join(__dirname, '../../.tools/kube/bin');

export interface Kube {
  dir: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** The CA that signed the apiserver's serving certificate. */
  caFile: string;
  kubeconfig: string;
  /** A kubeconfig for each of `KubeOptions.users`, by user name. */
  userKubeconfigs: Record<string, string>;
  /** `kubectl args...` as cluster admin; rejects with kubectl's stderr on a non-zero exit. */
  kubectl(args: string[], stdin?: string): Promise<string>;
  /** Like kubectl, but resolves with the exit code and both outputs. */
  kubectlResult(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  json<T>(args: string[]): Promise<T>;
}

const sh = promisify(execFile);

/** The `kubernetes` Service's ClusterIP: the first address of --service-cluster-ip-range (10.96.0.0/12). */
const KUBERNETES_SERVICE_IP = '10.96.0.1';

/** A CA, a serving certificate for `address` (and the names Pods use) signed by it, and the service-account signing key. */
async function makeCerts(dir: string, address: string): Promise<void> {
  const f = (n: string) => path.join(dir, n);
  const names = ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'];
  const ips = [...new Set(['127.0.0.1', address, KUBERNETES_SERVICE_IP])];
  const san = [...ips.map((ip) => `IP:${ip}`), 'DNS:localhost', ...names.map((n) => `DNS:${n}`)];
  writeFileSync(f('san.ext'), `subjectAltName=${san.join(',')}\n`);
  await sh('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
    '-days',
    '1',
    '-subj',
    '/CN=context-qa-test-ca',
  ]);
  await sh('openssl', [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f('apiserver.key'),
    '-out',
    f('apiserver.csr'),
    '-subj',
    '/CN=kube-apiserver',
  ]);
  await sh('openssl', [
    'x509',
    '-req',
    '-in',
    f('apiserver.csr'),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-out',
    f('apiserver.crt'),
    '-extfile',
    f('san.ext'),
  ]);
  await sh('openssl', ['genrsa', '-out', f('sa.key'), '2048']);
  await sh('openssl', ['rsa', '-in', f('sa.key'), '-pubout', '-out', f('sa.pub')]);
}

function get(url: string, ca: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, headers: { authorization: `Bearer ${token}` } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

export interface KubeOptions {
  /**
   * The apiserver's "cluster" egress (webhook calls) goes through an HTTP CONNECT proxy
   * on this Unix socket (see webhook-proxy.ts); unset: it connects directly.
   */
  egressUds?: string;
  /** More users of the static token file (user → groups), e.g. a kubelet's `system:node:<name>`. */
  users?: Record<string, string[]>;
  /** Authorize kubelets with the Node authorizer before RBAC, as EKS does (`Node,RBAC`). */
  nodeAuthorizer?: boolean;
  /**
   * The address the apiserver listens on and advertises (the `kubernetes` Service's endpoint):
   * a node's address, so that Pods reach it. Default 127.0.0.1 (nothing but the host can).
   */
  address?: string;
}

function writeKubeconfig(file: string, server: string, caFile: string, user: string, token: string): void {
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server, 'certificate-authority': caFile } }],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user } }],
      'current-context': 'test',
    }),
    { mode: 0o600 },
  );
}

export async function startKube(dir: string, options: KubeOptions = {}): Promise<Kube> {
  const { egressUds, users = {}, nodeAuthorizer = false, address = '127.0.0.1' } = options;
  const bin = (n: string) => path.join(KUBE_BIN, n);
  const f = (n: string) => path.join(dir, n);
  const [etcdClient, etcdPeer, apiPort, kcmPort] = await freePorts(4);
  await makeCerts(dir, address);
  const token = randomBytes(24).toString('hex');
  const server = `https://${address}:${apiPort}`;
  const caFile = f('ca.crt');
  const kubeconfig = f('admin.kubeconfig');
  writeKubeconfig(kubeconfig, server, caFile, 'admin', token);
  const tokens = [`${token},cluster-admin,cluster-admin,"system:masters"`];
  const userKubeconfigs: Record<string, string> = {};
  for (const [user, groups] of Object.entries(users)) {
    const t = randomBytes(24).toString('hex');
    tokens.push(groups.length ? `${t},${user},${user},"${groups.join(',')}"` : `${t},${user},${user}`);
    userKubeconfigs[user] = f(`${user.replace(/[^a-z0-9-]/gi, '_')}.kubeconfig`);
    writeKubeconfig(userKubeconfigs[user], server, caFile, user, t);
  }
  writeFileSync(f('tokens.csv'), `${tokens.join('\n')}\n`, { mode: 0o600 });
  if (egressUds)
    writeFileSync(
      f('egress.yaml'),
      JSON.stringify({
        apiVersion: 'apiserver.k8s.io/v1beta1',
        kind: 'EgressSelectorConfiguration',
        egressSelections: [
          { name: 'cluster', connection: { proxyProtocol: 'HTTPConnect', transport: { uds: { udsName: egressUds } } } },
        ],
      }),
    );

  const etcd = start(dir, 'etcd', bin('etcd'), [
    `--data-dir=${f('etcd-data')}`,
    `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
    `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
    `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
    `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
    '--log-level=warn',
  ]);
  await waitFor(
    'etcd /health',
    async () => ((await fetch(`http://127.0.0.1:${etcdClient}/health`)).ok ? true : undefined),
    30_000,
    etcd,
  );

  const apiserver = start(dir, 'kube-apiserver', bin('kube-apiserver'), [
    `--etcd-servers=http://127.0.0.1:${etcdClient}`,
    `--bind-address=${address}`,
    // An Endpoint may not be a loopback address: on loopback the apiserver picks the host's.
    ...(address === '127.0.0.1' ? [] : [`--advertise-address=${address}`]),
    `--secure-port=${apiPort}`,
    `--cert-dir=${f('apiserver-certs')}`,
    `--tls-cert-file=${f('apiserver.crt')}`,
    `--tls-private-key-file=${f('apiserver.key')}`,
    `--service-account-key-file=${f('sa.pub')}`,
    `--service-account-signing-key-file=${f('sa.key')}`,
    '--service-account-issuer=https://kubernetes.default.svc',
    `--token-auth-file=${f('tokens.csv')}`,
    `--authorization-mode=${nodeAuthorizer ? 'Node,RBAC' : 'RBAC'}`,
    // EKS turns these on too; PodSecurity, the webhooks and ServiceAccount are on by default.
    '--enable-admission-plugins=NodeRestriction',
    '--allow-privileged=true',
    '--service-cluster-ip-range=10.96.0.0/12',
    ...(egressUds ? [`--egress-selector-config-file=${f('egress.yaml')}`] : []),
    '--profiling=false',
  ]);
  const ca = readFileSync(caFile, 'utf8');
  await waitFor(
    'kube-apiserver /readyz',
    async () => ((await get(`${server}/readyz`, ca, token)).status === 200 ? true : undefined),
    120_000,
    apiserver,
  );

  const kcm = start(dir, 'kube-controller-manager', bin('kube-controller-manager'), [
    `--kubeconfig=${kubeconfig}`,
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${f('sa.key')}`,
    `--root-ca-file=${f('ca.crt')}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${kcmPort}`,
    '--leader-elect=false',
  ]);

  const kubectlResult = (args: string[], stdin?: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(bin('kubectl'), [`--kubeconfig=${kubeconfig}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      child.stdin.end(stdin ?? '');
    });
  const kubectl = async (args: string[], stdin?: string) => {
    const r = await kubectlResult(args, stdin);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  const json = async <T>(args: string[]) => JSON.parse(await kubectl([...args, '-o', 'json'])) as T;

  // The controllers are working once they have made their own service accounts.
  await waitFor(
    'kube-controller-manager (service account kube-system/replicaset-controller)',
    async () =>
      (await kubectlResult(['-n', 'kube-system', 'get', 'serviceaccount', 'replicaset-controller'])).code === 0
        ? true
        : undefined,
    90_000,
    kcm,
  );
  return { dir, server, caFile, kubeconfig, userKubeconfigs, kubectl, kubectlResult, json };
}
