/**
 * The Dapr control plane of the pinned version, installed the way docs/deploy-eks.md
 * step 1 installs it: its `helm upgrade --install` flags (values file, --set) given to
 * `helm template` on the chart of the pinned dapr module, and everything it renders
 * applied (CRDs, RBAC, Services, the `dapr-sidecar-injector` MutatingWebhookConfiguration,
 * the Deployments, whose Pods stay Pending). Sentry (Kubernetes mode), the operator and
 * the injector then run as local processes with the args and env of their rendered
 * Deployments, a kubeconfig for their own service account (so the chart's RBAC applies),
 * and an identity from sentry through a token bound to one of their Deployment's Pods
 * (what the chart's projected token volume gives the real Pods). Only addresses, ports
 * and file paths are replaced.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { KUBE_BIN, type Kube } from './kube';
import { freePorts, start, waitFor, type Started } from './processes';
import type { WebhookProxy } from './webhook-proxy';

export const DAPR_VERSION = '1.18.3';
export const NS = 'dapr-system';
const REPO = path.join(__dirname, '../..');
const SENTRY = process.env['DAPR_SENTRY_PATH'] ?? path.join(REPO, '.dapr/bin/sentry');
const sh = promisify(execFile);

export interface Dapr {
  trustAnchorsFile: string;
  sentryAddress: string;
  operatorAddress: string;
  injector: Started;
  /** The chart's rendered objects, as applied. */
  rendered: Manifest[];
}

interface EnvVar {
  name: string;
  value?: string;
}
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: {
    template?: {
      spec: { serviceAccountName: string; containers: { image?: string; args?: string[]; env?: EnvVar[] }[] };
    };
    selector?: { matchLabels: Record<string, string> };
  };
}

/** The flags of step 1's `helm upgrade --install dapr dapr/dapr ...` command that shape what it installs. */
export function docsHelmFlags(): string[] {
  const docs = readFileSync(path.join(REPO, 'docs/deploy-eks.md'), 'utf8').replace(/\\\n\s*/g, ' ');
  const command = docs.split('\n').find((l) => /^helm upgrade --install dapr dapr\/dapr /.test(l));
  if (!command) throw new Error('docs/deploy-eks.md has no `helm upgrade --install dapr dapr/dapr` command');
  const words = command.trim().split(/\s+/);
  const flags: string[] = [];
  words.forEach((w, i) => {
    if (['-f', '--values'].includes(w)) flags.push('--values', path.join(REPO, words[i + 1]!));
    if (['--set', '--set-string'].includes(w)) flags.push(w, words[i + 1]!);
    if (['-n', '--namespace'].includes(w) && words[i + 1] !== NS)
      throw new Error(`the docs install Dapr into ${words[i + 1]}, not ${NS}`);
  });
  return flags;
}

/** A container's args as flag → value ('' for a lone flag), whether written `--f v` or `--f=v`. */
function parseArgs(args: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i]!.split(/=(.*)/s) as [string, string | undefined];
    if (inline !== undefined) out.set(flag, inline);
    else if (args[i + 1] !== undefined && !args[i + 1]!.startsWith('--')) out.set(flag, args[++i]!);
    else out.set(flag, '');
  }
  return out;
}

/** The rendered Deployment's args with `overrides` applied, and its plain env (valueFrom fields are set by the caller). */
function fromDeployment(
  rendered: Manifest[],
  name: string,
  overrides: Record<string, string>,
): { args: string[]; env: Record<string, string>; serviceAccount: string } {
  const d = rendered.find((m) => m.kind === 'Deployment' && m.metadata.name === name);
  const pod = d?.spec?.template?.spec;
  if (!pod) throw new Error(`the chart renders no Deployment ${name}`);
  const args = parseArgs(pod.containers[0]!.args ?? []);
  for (const [k, v] of Object.entries(overrides)) args.set(k, v);
  const env = Object.fromEntries(
    (pod.containers[0]!.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]),
  );
  return { args: [...args].map(([k, v]) => (v === '' ? k : `${k}=${v}`)), env, serviceAccount: pod.serviceAccountName };
}

/** The chart of the pinned dapr module, as docs/deploy-eks.md step 1's flags (and `sets`) render it. */
export async function renderDaprChart(kube: Kube, sets: string[] = []): Promise<Manifest[]> {
  const { stdout: daprDir } = await sh('go', ['list', '-m', '-f', '{{.Dir}}', 'github.com/dapr/dapr'], {
    cwd: path.join(REPO, 'third_party/kube/dapr'),
  });
  const { stdout: manifests } = await sh(
    path.join(KUBE_BIN, 'helm'),
    [
      'template',
      'dapr',
      path.join(daprDir.trim(), 'charts/dapr'),
      `--namespace=${NS}`,
      '--include-crds',
      ...docsHelmFlags(),
      // What the release pipeline stamps into the published chart (the source says "edge").
      `--set=global.tag=${DAPR_VERSION}`,
      ...sets,
    ],
    { maxBuffer: 64 * 1024 * 1024, env: { PATH: process.env['PATH'], HOME: kube.dir } },
  );
  return parseAllDocuments(manifests)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

/** What the chart rendered, applied as `helm upgrade --install --create-namespace` would: CRDs first, then the rest. */
export async function applyDaprChart(kube: Kube, rendered: Manifest[]): Promise<void> {
  const kubectl = (args: string[], stdin?: string) => kube.kubectl(args, stdin);
  const crds = rendered.filter((m) => m.kind === 'CustomResourceDefinition');
  // Helm puts namespaced objects without a namespace into the release's.
  const clusterScoped = [
    'ClusterRole',
    'ClusterRoleBinding',
    'MutatingWebhookConfiguration',
    'ValidatingWebhookConfiguration',
    'PriorityClass',
    'Namespace',
  ];
  const rest = rendered
    .filter((m) => m.kind !== 'CustomResourceDefinition')
    .map((m) =>
      clusterScoped.includes(m.kind) || m.metadata.namespace ? m : { ...m, metadata: { ...m.metadata, namespace: NS } },
    );
  const list = (items: unknown[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });

  // --create-namespace, then what Helm applies (CRDs first; server-side: they are too large for client-side apply).
  await kubectl(['apply', '-f', '-'], list([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }]));
  await kubectl(['apply', '--server-side', '-f', '-'], list(crds));
  await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
  await kubectl(['apply', '--server-side', '-f', '-'], list(rest));
}

export async function startDapr(kube: Kube, proxy: WebhookProxy): Promise<Dapr> {
  const { dir } = kube;
  const kubectl = (args: string[], stdin?: string) => kube.kubectl(args, stdin);
  const f = (n: string) => path.join(dir, n);
  const [
    sentryPort,
    sentryHealthz,
    sentryMetrics,
    opPort,
    opHealthz,
    opWebhook,
    opMetrics,
    injPort,
    injHealthz,
    injMetrics,
  ] = await freePorts(10);
  const sentryAddress = `127.0.0.1:${sentryPort}`;
  // The chart's value for exactly this: sentry is not behind its Service here.
  const rendered = await renderDaprChart(kube, [`--set=global.mtls.sentryAddress=${sentryAddress}`]);
  await applyDaprChart(kube, rendered);

  const clusterIP = async (name: string) =>
    (await kubectl(['-n', NS, 'get', 'service', name, '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  proxy.routes.set(`${await clusterIP('dapr-sidecar-injector')}:443`, injPort!);
  proxy.routes.set(`${await clusterIP('dapr-webhook')}:443`, opWebhook!);

  /** A kubeconfig for a service account: the process gets what the chart's RBAC gives it. */
  const kubeconfigFor = async (sa: string) => {
    const token = (await kubectl(['-n', NS, 'create', 'token', sa, '--duration=2h'])).trim();
    const admin = JSON.parse(readFileSync(kube.kubeconfig, 'utf8')) as { users: { user: { token: string } }[] };
    admin.users[0]!.user.token = token;
    const file = f(`${sa}.kubeconfig`);
    writeFileSync(file, JSON.stringify(admin), { mode: 0o600 });
    return file;
  };
  /** The sentry token of a Pod of Deployment `name`: audience sentry's SPIFFE ID, bound to the Pod. */
  const sentryTokenFor = async (name: string, sa: string) => {
    const pod = await waitFor(
      `a Pod of Deployment ${name}`,
      async () =>
        (
          await kubectl(['-n', NS, 'get', 'pods', '-l', `app=${name}`, '-o', 'jsonpath={.items[0].metadata.name}'])
        ).trim() || undefined,
      60_000,
    );
    const audience = `spiffe://cluster.local/ns/${NS}/dapr-sentry`;
    const token = await kubectl([
      '-n',
      NS,
      'create',
      'token',
      sa,
      `--audience=${audience}`,
      '--bound-object-kind=Pod',
      `--bound-object-name=${pod}`,
      '--duration=2h',
    ]);
    const file = f(`${name}.sentry-token`);
    writeFileSync(file, token.trim(), { mode: 0o600 });
    return file;
  };
  const healthy = (port: number) => async () =>
    (await fetch(`http://127.0.0.1:${port}/healthz`)).ok ? true : undefined;
  // NAMESPACE is the chart's fieldRef; the chart runs them as non-root users, and in
  // Kubernetes mode they refuse root unless told (CI runs as root).
  const common = { NAMESPACE: NS, DAPR_UNSAFE_SKIP_CONTAINER_UID_GID_CHECK: 'true' };
  const listen = (port: number, health: number, metrics: number) => ({
    '--listen-address': '127.0.0.1',
    '--port': String(port),
    '--healthz-listen-address': '127.0.0.1',
    '--healthz-port': String(health),
    '--metrics-listen-address': '127.0.0.1',
    '--metrics-port': String(metrics),
  });

  // Watched for issuer files; empty, so sentry makes its CA and keeps it in the dapr-trust-bundle Secret.
  mkdirSync(f('sentry-credentials'));
  const s = fromDeployment(rendered, 'dapr-sentry', {
    ...listen(sentryPort!, sentryHealthz!, sentryMetrics!),
    '--issuer-credentials': f('sentry-credentials'),
  });
  const sentry = start(dir, 'sentry', SENTRY, [...s.args, `--kubeconfig=${await kubeconfigFor(s.serviceAccount)}`], {
    ...s.env,
    ...common,
  });
  await waitFor('sentry /healthz', healthy(sentryHealthz!), 60_000, sentry);
  const trustAnchorsFile = f('dapr-trust-anchors.crt');
  const anchors = await waitFor(
    'sentry to publish its CA (ConfigMap dapr-trust-bundle)',
    async () =>
      (await kubectl(['-n', NS, 'get', 'configmap', 'dapr-trust-bundle', '-o', 'jsonpath={.data.ca\\.crt}'])) ||
      undefined,
    30_000,
    sentry,
  );
  writeFileSync(trustAnchorsFile, anchors);

  const o = fromDeployment(rendered, 'dapr-operator', {
    ...listen(opPort!, opHealthz!, opMetrics!),
    '--webhook-server-listen-address': '127.0.0.1',
    '--webhook-server-port': String(opWebhook),
    '--trust-anchors-file': trustAnchorsFile,
    // Out of a Pod, controller-runtime cannot tell which namespace holds the lease; one replica runs.
    '--disable-leader-election': '',
  });
  const operator = start(dir, 'operator', path.join(KUBE_BIN, 'operator'), o.args, {
    ...o.env,
    ...common,
    KUBECONFIG: await kubeconfigFor(o.serviceAccount),
    DAPR_SENTRY_TOKEN_FILE: await sentryTokenFor('dapr-operator', o.serviceAccount),
  });

  const i = fromDeployment(rendered, 'dapr-sidecar-injector', listen(injPort!, injHealthz!, injMetrics!));
  const injector = start(
    dir,
    'injector',
    path.join(KUBE_BIN, 'injector'),
    [...i.args, `--kubeconfig=${await kubeconfigFor(i.serviceAccount)}`],
    {
      ...i.env,
      ...common,
      DAPR_TRUST_ANCHORS_FILE: trustAnchorsFile,
      DAPR_SENTRY_TOKEN_FILE: await sentryTokenFor('dapr-sidecar-injector', i.serviceAccount),
    },
  );

  // Ready: identity from sentry, informers synced, the webhook's caBundle patched.
  await waitFor('operator /healthz', healthy(opHealthz!), 120_000, operator);
  await waitFor('injector /healthz', healthy(injHealthz!), 120_000, injector);
  return { trustAnchorsFile, sentryAddress, operatorAddress: `127.0.0.1:${opPort}`, injector, rendered };
}

/** The webhook answers through the apiserver: a dry-run Pod comes back with daprd. */
export async function waitForInjection(kube: Kube, injector: Started): Promise<void> {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'injection-probe',
      namespace: 'default',
      annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'injection-probe' },
    },
    spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
  };
  await waitFor(
    'the sidecar injector to answer the apiserver',
    async () => {
      const out = await kube.kubectl(['create', '--dry-run=server', '-o', 'json', '-f', '-'], JSON.stringify(pod));
      const created = JSON.parse(out) as { spec: { containers: { name: string }[] } };
      return created.spec.containers.some((c) => c.name === 'daprd') ? true : undefined;
    },
    60_000,
    injector,
  );
}
