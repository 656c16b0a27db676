/**
 * A real single-node Kubernetes 1.34 on this machine (`make check-node`): containerd 1.6
 * (apt) with its CRI plugin and Debian's CNI plugins, the control plane of test/cluster
 * (etcd, kube-apiserver with the Node authorizer, on the node's address so Pods reach it,
 * kube-controller-manager), kube-scheduler, kubelet, kube-proxy (iptables mode) and CoreDNS
 * as a Pod, all from `third_party/build kube --node`.
 * Images are not pulled: they are saved from podman and imported into containerd's `k8s.io`
 * namespace, as `kind load` does. Everything lives in one temp dir; `stop()` ends every
 * process and runs host.ts's cleanup script, which the watchdog also runs when jest dies.
 * KEEP_NODE_DIR=1 keeps the dir (logs) for a post-mortem.
 */
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { KUBE_BIN, startKube, type Kube } from '../cluster/kube';
import { freePorts, start, startWatchdog, stopAll, stopEach, waitFor, type Started } from '../cluster/processes';
import { CLUSTER_DNS_IP, COREDNS_IMAGE, coreDnsManifests } from './coredns';
import { cniConfig, hostNetwork, leftovers, setUpNetwork, writeCleanupScript, type HostNetwork } from './host';

const sh = promisify(execFile);
const REPO = path.join(__dirname, '../..');
export const NODE_NAME = 'cqa-node';
/** containerd's sandbox image: test/node builds it from `third_party/build kube --node`'s pause. */
export const PAUSE_IMAGE = 'localhost/context-qa/pause:3.10';
/** The runtime stand-in base of tools/images (`make base-images`): Node 24, non-root, no shell. */
export const RUNTIME_IMAGE = 'localhost/context-qa/nodejs-runtime:24-debian12-nonroot';
/** `make images`' app images. */
export const GATEWAY_IMAGE = 'localhost/context-qa/gateway-service:local';
export const AI_CORE_IMAGE = 'localhost/context-qa/ai-core-service:local';

export interface BinaryImageOptions {
  user: number;
  /** Default scratch. */
  base?: string;
  /** More files: image path → host file. */
  files?: Record<string, string>;
}

export interface TestNode {
  dir: string;
  kube: Kube;
  net: HostNetwork;
  /** podman image → containerd's k8s.io namespace. */
  importImage(image: string): Promise<void>;
  /** An image of one static binary of ours (nothing can be pulled), imported. */
  binaryImage(image: string, file: string, options: BinaryImageOptions): Promise<void>;
  /** Stops everything and undoes every host change; resolves with what was left (empty when nothing). */
  stop(): Promise<string[]>;
  timings: Record<string, number>;
}

const bin = (n: string) => path.join(KUBE_BIN, n);
const podmanEnv = { ...process.env, CONTAINERS_CONF: path.join(REPO, 'tools/images/containers.conf') };
// kubelet, kube-proxy and containerd run mount, iptables, runc and the CNI plugins.
const SYSTEM_PATH = `${process.env['PATH'] ?? ''}:/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin`;

function containerdConfig(d: string, net: HostNetwork): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = "${d}/root"
state = "${d}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "${d}/containerd.sock"
[ttrpc]
  address = "${d}/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "${d}/opt"
[${cri}]
  sandbox_image = "${PAUSE_IMAGE}"
  # This sandbox refuses to lower oom_score_adj; without this runc fails on the pause container.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
[${cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[${cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false
  Root = "${d}/runc"
[${cri}.cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "${d}/cni"
# ${net.network}
`;
}

/** The images `make check-node` needs that the machine may lack: a clear message instead of a Pod stuck in ErrImageNeverPull. */
async function requireImage(image: string): Promise<void> {
  const r = await sh('podman', ['image', 'exists', image], { env: podmanEnv }).then(
    () => true,
    () => false,
  );
  if (!r) throw new Error(`podman has no image ${image}: run \`make base-images\` (or \`make images\`) first`);
}

export async function startNode(): Promise<TestNode> {
  const t0 = Date.now();
  const timings: Record<string, number> = {};
  const mark = (what: string, since: number) => (timings[what] = Date.now() - since);
  for (const b of ['kubelet', 'kube-proxy', 'kube-scheduler', 'pause', 'coredns', 'kube-apiserver', 'etcd'])
    if (!existsSync(bin(b))) throw new Error(`${bin(b)} is missing: run \`third_party/build kube --node\``);
  for (const c of ['containerd', 'ctr', 'runc', 'conntrack', 'nft', 'iptables'])
    await sh('bash', ['-c', `PATH='${SYSTEM_PATH}' command -v ${c}`]).catch(() => {
      throw new Error(`${c} is not installed: \`make check-node\` installs it (scripts/node-prereqs.sh)`);
    });

  const dir = mkdtempSync(path.join(os.tmpdir(), 'cqa-node-'));
  const id = path.basename(dir).slice(-6).toLowerCase();
  const net = hostNetwork(id.replace(/[^a-z0-9]/g, 'x'));
  const keep = Boolean(process.env['KEEP_NODE_DIR']);
  const f = (...p: string[]) => path.join(dir, ...p);
  const ctrd = f('containerd');
  mkdirSync(f('containerd', 'cni'), { recursive: true });
  const sock = f('containerd', 'containerd.sock');
  const { file: cleanup, nftTables } = await writeCleanupScript({
    dir,
    net,
    containerdSocket: sock,
    kubeProxy: bin('kube-proxy'),
  });
  const stopWatchdog = startWatchdog(dir, keep, cleanup);
  const run = (name: string, b: string, args: string[]): Started => start(dir, name, b, args, { PATH: SYSTEM_PATH });
  const ctr = (args: string[]) =>
    sh('ctr', ['--address', sock, '--namespace', 'k8s.io', ...args], {
      env: { ...process.env, PATH: SYSTEM_PATH },
      maxBuffer: 64 << 20,
    });
  let kube: Kube | undefined;
  const nodeProcs: Started[] = [];

  /**
   * As a node is drained: Pods deleted through the API (the kubelet stops their sandboxes:
   * CNI DEL, network namespace), then the node's processes stopped, then containerd told to
   * end what is left (so its shims exit cleanly), then the rest; the cleanup script last.
   */
  const teardown = async () => {
    if (kube)
      await kube
        .kubectlResult([
          'delete',
          'deployments,replicasets,daemonsets,statefulsets,jobs,pods',
          '--all',
          '--all-namespaces',
          '--wait=true',
          '--timeout=60s',
        ])
        .catch(() => undefined);
    await stopAll([...nodeProcs].reverse(), 10_000);
    const ids = async (what: string) =>
      (await ctr([what, 'ls', '-q']).catch(() => ({ stdout: '' }))).stdout.split('\n').filter(Boolean);
    for (const task of await ids('tasks')) {
      await ctr(['tasks', 'kill', '--signal', 'SIGKILL', task]).catch(() => undefined);
      await ctr(['tasks', 'delete', '--force', task]).catch(() => undefined);
    }
    for (const c of await ids('containers')) await ctr(['containers', 'delete', c]).catch(() => undefined);
    // The control plane and containerd, one at a time, the last started first.
    await stopEach(10_000);
    await sh('bash', [cleanup]).catch(() => undefined);
  };
  let stopped: Promise<string[]> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      const t = Date.now();
      await teardown();
      const pgids = existsSync(f('pgids'))
        ? readFileSync(f('pgids'), 'utf8').split('\n').filter(Boolean).map(Number)
        : [];
      const left = await leftovers(dir, net, pgids, nftTables);
      stopWatchdog();
      if (!keep && left.length === 0) rmSync(dir, { recursive: true, force: true });
      timings['teardown'] = Date.now() - t;
      return left;
    })());

  try {
    let t = Date.now();
    await setUpNetwork(net);
    writeFileSync(f('containerd', 'cni', '10-cqa-node.conflist'), cniConfig(net, f('cni-ipam')));
    writeFileSync(f('containerd.toml'), containerdConfig(ctrd, net));
    const containerd = run('containerd', '/usr/bin/containerd', ['--config', f('containerd.toml')]);
    await waitFor('containerd', async () => ((await ctr(['version'])).stdout ? true : undefined), 30_000, containerd);
    mark('containerd', t);

    const importImage = async (image: string) => {
      await requireImage(image);
      const tar = f('images', `${image.replace(/[^a-z0-9.-]/gi, '_')}.tar`);
      mkdirSync(path.dirname(tar), { recursive: true });
      await sh('podman', ['save', '--quiet', '--format', 'docker-archive', '-o', tar, image], { env: podmanEnv });
      await ctr(['images', 'import', tar]);
      rmSync(tar, { force: true });
    };
    const binaryImage = async (image: string, file: string, o: BinaryImageOptions) => {
      const name = path.basename(file);
      const ctx = mkdtempSync(f(`${name}-image-`));
      copyFileSync(file, path.join(ctx, name));
      const extra = Object.entries(o.files ?? {}).map(([to, from], i) => {
        copyFileSync(from, path.join(ctx, `extra-${i}`));
        return `COPY extra-${i} ${to}\n`;
      });
      writeFileSync(
        path.join(ctx, 'Containerfile'),
        `FROM ${o.base ?? 'scratch'}\nCOPY ${name} /${name}\n${extra.join('')}USER ${o.user}:${o.user}\nENTRYPOINT ["/${name}"]\n`,
      );
      await sh('podman', ['build', '--quiet', '-t', image, ctx], { env: podmanEnv });
      await importImage(image);
      rmSync(ctx, { recursive: true, force: true });
    };
    t = Date.now();
    // The Pod sandbox image (third_party/kube/kubernetes/pause) and the cluster DNS (third_party/kube/coredns).
    await binaryImage(PAUSE_IMAGE, bin('pause'), { user: 65535 });
    await binaryImage(COREDNS_IMAGE, bin('coredns'), { user: 65532 });
    await importImage(RUNTIME_IMAGE);
    mark('images', t);

    t = Date.now();
    kube = await startKube(dir, {
      // On the bridge: Pods reach it through the `kubernetes` Service.
      address: net.nodeIp,
      nodeAuthorizer: true,
      users: {
        [`system:node:${NODE_NAME}`]: ['system:nodes'],
        'system:kube-proxy': [],
        'system:kube-scheduler': [],
      },
    });
    mark('control plane', t);
    const kc = kube.userKubeconfigs;
    const [schedPort, kubeletPort, kubeletHealthz, proxyHealthz, proxyMetrics] = await freePorts(5);

    t = Date.now();
    const k = kube;
    const node = (name: string, args: string[]) => {
      const p = run(name, bin(name), args);
      nodeProcs.push(p);
      return p;
    };
    node('kube-scheduler', [
      `--kubeconfig=${kc['system:kube-scheduler']}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${schedPort}`,
      '--leader-elect=false',
    ]);

    writeFileSync(
      f('kubelet.json'),
      JSON.stringify({
        apiVersion: 'kubelet.config.k8s.io/v1beta1',
        kind: 'KubeletConfiguration',
        cgroupDriver: 'cgroupfs',
        failSwapOn: false,
        containerRuntimeEndpoint: `unix://${sock}`,
        address: net.nodeIp,
        port: kubeletPort,
        readOnlyPort: 0,
        healthzBindAddress: '127.0.0.1',
        healthzPort: kubeletHealthz,
        // Nothing calls the kubelet's API in this milestone (no logs or exec through the apiserver).
        authentication: { anonymous: { enabled: false }, webhook: { enabled: false } },
        authorization: { mode: 'AlwaysAllow' },
        podLogsDir: f('pod-logs'),
        volumePluginDir: f('kubelet', 'volume-plugins'),
        clusterDomain: 'cluster.local',
        clusterDNS: [CLUSTER_DNS_IP],
        // The run dir is on the root disk: evict only when it is nearly full, not at the 10-15 % defaults.
        evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '2%', 'imagefs.available': '2%' },
        imageGCHighThresholdPercent: 100,
        imageGCLowThresholdPercent: 99,
        serializeImagePulls: false,
      }),
    );
    const kubelet = node('kubelet', [
      `--config=${f('kubelet.json')}`,
      `--kubeconfig=${kc[`system:node:${NODE_NAME}`]}`,
      `--root-dir=${f('kubelet')}`,
      // Its default is /var/lib/kubelet/pki, whatever --root-dir says.
      `--cert-dir=${f('kubelet', 'pki')}`,
      `--hostname-override=${NODE_NAME}`,
      `--node-ip=${net.nodeIp}`,
      '--v=1',
    ]);
    node('kube-proxy', [
      `--kubeconfig=${kc['system:kube-proxy']}`,
      `--hostname-override=${NODE_NAME}`,
      '--proxy-mode=iptables',
      `--cluster-cidr=${net.podCidr}`,
      '--nodeport-addresses=primary',
      // Leave the host's conntrack limits and route_localnet as they are.
      '--conntrack-max-per-core=0',
      '--conntrack-tcp-timeout-established=0',
      '--conntrack-tcp-timeout-close-wait=0',
      '--iptables-localhost-nodeports=false',
      `--healthz-bind-address=127.0.0.1:${proxyHealthz}`,
      `--metrics-bind-address=127.0.0.1:${proxyMetrics}`,
    ]);
    await waitFor(
      `node ${NODE_NAME} Ready`,
      async () => {
        const r = await k.kubectlResult([
          'get',
          'node',
          NODE_NAME,
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        ]);
        return r.stdout.trim() === 'True' ? true : undefined;
      },
      180_000,
      kubelet,
    );
    mark('node ready', t);
    t = Date.now();
    await k.kubectl(['apply', '-f', '-'], coreDnsManifests());
    await rolledOut(k, 'kube-system', 'deployment/coredns', '120s', () =>
      podLog(dir, 'kube-system', 'coredns-', 'coredns'),
    );
    mark('cluster DNS', t);
    timings['bring-up'] = Date.now() - t0;
    return { dir, kube: k, net, importImage, binaryImage, stop, timings };
  } catch (err) {
    const left = await stop();
    const extra = left.length ? `\nleft behind: ${left.join('; ')}` : '';
    if (err instanceof Error) err.message += extra;
    throw err;
  }
}

/** The last lines of a log in the run dir, for a failure message. */
export function logTail(dir: string, name: string, lines = 40): string {
  const file = path.join(dir, `${name}.log`);
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n') : '';
}

/**
 * What a container printed, from the kubelet's log files (the node's kubelet API is closed, so
 * no `kubectl logs`): every run of it, oldest first, without the CRI prefix. `podPrefix` is the
 * start of the Pod's name; '' when there is no such Pod.
 */
export function podLog(dir: string, namespace: string, podPrefix: string, container: string): string {
  const logs = path.join(dir, 'pod-logs');
  const pod = existsSync(logs) ? readdirSync(logs).find((d) => d.startsWith(`${namespace}_${podPrefix}`)) : undefined;
  const runs = pod ? path.join(logs, pod, container) : '';
  if (!runs || !existsSync(runs)) return '';
  // <restart count>.log, one per run; each line is "<time> <stream> <P|F> <text>".
  return readdirSync(runs)
    .sort((a, b) => parseInt(a, 10) - parseInt(b, 10))
    .map((f) => `--- ${f}\n${readFileSync(path.join(runs, f), 'utf8').replace(/^\S+ \S+ [PF] /gm, '')}`)
    .join('');
}

/** `kubectl rollout status` of `ref`; when it does not finish in `timeout`, fails with what `diagnose` gathers. */
export async function rolledOut(
  kube: Kube,
  namespace: string,
  ref: string,
  timeout: string,
  diagnose: () => string | Promise<string>,
): Promise<void> {
  const r = await kube.kubectlResult(['-n', namespace, 'rollout', 'status', ref, `--timeout=${timeout}`]);
  if (r.code !== 0) throw new Error(`${ref} never became Ready: ${r.stderr}\n${await diagnose()}`);
}
