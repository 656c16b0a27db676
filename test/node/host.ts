/**
 * What the test node changes on this host outside its own processes, and the one script
 * that undoes it: a Linux bridge (the Pods' network and gateway, and the node's address), a
 * route that keeps Service addresses on that bridge, a FORWARD rule that keeps Pod traffic on
 * this machine, the CNI config, containerd's containers (their
 * processes, shims, cgroups and mounts), kube-proxy's and kubelet's iptables chains, the
 * kernel settings kubelet sets, and the files kubelet and CNI write outside the run dir.
 * The script is written before anything starts, and both the teardown and the watchdog
 * (when jest dies) run it, so the path that cleans up after a crash is the one every run tests.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const sh = promisify(execFile);

/** Pods may be forwarded only onto their own bridge: nothing a Pod sends leaves this machine. */
const forwardGuard = (bridge: string) => ['-i', bridge, '!', '-o', bridge, '-j', 'REJECT'];

export interface HostNetwork {
  /** The bridge the Pods attach to; it also holds the node's address. */
  bridge: string;
  /** The CNI network's name (in containerd's CNI result cache file names). */
  network: string;
  podCidr: string;
  /** The bridge's address: the node's InternalIP and kube-proxy's NodePort address. */
  nodeIp: string;
  serviceCidr: string;
}

/** Names unique to one run (an interface name has at most 15 characters). */
export function hostNetwork(id: string): HostNetwork {
  return {
    bridge: `cqanode${id}`.slice(0, 15),
    network: `cqa-node-${id}`,
    podCidr: '10.241.0.0/24',
    nodeIp: '10.241.0.1',
    serviceCidr: '10.96.0.0/12',
  };
}

/**
 * The kernel settings the node may change: the kubelet's when `protectKernelDefaults` is off
 * (pkg/kubelet/cm/container_manager_linux.go), IP forwarding (CNI's bridge turns it on for a
 * gateway bridge: Pods reach Services and the apiserver through the host), and br_netfilter's
 * switch that sends bridged Pod-to-Pod traffic through kube-proxy's rules.
 */
const NODE_SYSCTLS = [
  'net/ipv4/ip_forward',
  'net/bridge/bridge-nf-call-iptables',
  'vm/overcommit_memory',
  'vm/panic_on_oom',
  'kernel/panic',
  'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys',
  'kernel/keys/root_maxbytes',
];

export interface CleanupInputs {
  dir: string;
  net: HostNetwork;
  containerdSocket: string;
  kubeProxy: string;
}

/** Writes <dir>/cleanup.sh, capturing what to restore (kernel settings, nftables tables, host dirs) as it is now. */
export async function writeCleanupScript(c: CleanupInputs): Promise<{ file: string; nftTables: string[] }> {
  if (!existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables'))
    throw new Error(
      'br_netfilter is not loaded (no /proc/sys/net/bridge): Pods could not reach Services on their own bridge',
    );
  const sysctls = NODE_SYSCTLS.map((k) => `${k}=${readFileSync(`/proc/sys/${k}`, 'utf8').trim()}`);
  const tables = (await sh('nft', ['list', 'tables'])).stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const guard = forwardGuard(c.net.bridge).map(q).join(' ');
  const script = `#!/usr/bin/env bash
# Undoes what the test node did to this host (test/node/host.ts). Idempotent.
dir=${q(c.dir)}
sock=${q(c.containerdSocket)}
bridge=${q(c.net.bridge)}
network=${q(c.net.network)}
service_cidr=${q(c.net.serviceCidr)}

# 1. Containers: every process in the kubelet's cgroups, then containerd's shims for this
#    runtime (the only processes with our socket as a whole argument).
for i in $(seq 20); do
  pids=$(for c in /sys/fs/cgroup/*/kubepods; do [ -d "$c" ] && find "$c" -name cgroup.procs -exec cat {} +; done 2>/dev/null | sort -u)
  [ -z "$pids" ] && break
  kill -KILL $pids 2>/dev/null
  sleep 0.5
done
# A shim killed (not told to exit by containerd) leaves its socket in /run/containerd/s.
for p in /proc/[0-9]*; do
  if tr '\\0' '\\n' <"$p/cmdline" 2>/dev/null | grep -qxF -- "$sock"; then
    pid=\${p#/proc/}
    shim_socks=$(ss -xlpn 2>/dev/null | grep "pid=$pid," | awk '{print $5}' | grep '^/run/containerd/s/')
    kill -KILL "$pid" 2>/dev/null
    [ -n "$shim_socks" ] && rm -f $shim_socks
  fi
done
${existsSync('/run/containerd') ? '' : 'rmdir /run/containerd/s /run/containerd 2>/dev/null'}

# 2. Mounts under the run dir (image layers, Pod shm, network namespaces, volumes), deepest first.
for i in 1 2 3; do
  awk -v d="$dir/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
  done
done

# 3. The cgroups the kubelet and runc made, now empty, deepest first.
for c in /sys/fs/cgroup/*/kubepods; do [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null; done

# 4. Network: veths left on the bridge, the bridge (its route goes with it), kube-proxy's rules
#    (its own --cleanup), then any KUBE-* chain left (the kubelet's canaries), then nftables
#    tables that did not exist before the run (iptables-nft makes its tables on first use).
for v in $(ip -o link show master "$bridge" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do ip link del "$v" 2>/dev/null; done
ip route del "$service_cidr" dev "$bridge" 2>/dev/null
while iptables -D FORWARD ${guard} 2>/dev/null; do :; done
ip link del "$bridge" 2>/dev/null
[ -x ${q(c.kubeProxy)} ] && ${q(c.kubeProxy)} --cleanup >/dev/null 2>&1
for ipt in iptables ip6tables; do
  for t in filter nat mangle raw; do
    "$ipt" -t "$t" -S 2>/dev/null | grep -E '^-A .* -j KUBE-' | grep -vE '^-A KUBE-' | sed 's/^-A /-D /' | while read -r rule; do
      eval "$ipt -t $t $rule" 2>/dev/null
    done
    for chain in $("$ipt" -t "$t" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^KUBE-/ {print $2}'); do "$ipt" -t "$t" -F "$chain" 2>/dev/null; done
    for chain in $("$ipt" -t "$t" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^KUBE-/ {print $2}'); do "$ipt" -t "$t" -X "$chain" 2>/dev/null; done
  done
done
before=${q(tables.join('\n'))}
nft list tables 2>/dev/null | while read -r table; do
  grep -qxF -- "$table" <<<"$before" || nft delete $table 2>/dev/null
done

# 5. Files outside the run dir: CNI's result cache, the kubelet's container log links.
rm -f /var/lib/cni/results/"$network"-* 2>/dev/null
${existsSync('/var/lib/cni') ? '' : 'rm -rf /var/lib/cni'}
[ -d /var/log/containers ] && find /var/log/containers -maxdepth 1 -type l -lname "$dir/*" -delete
${existsSync('/var/log/containers') ? '' : 'rmdir /var/log/containers 2>/dev/null'}

# 6. The kernel settings as they were before the kubelet started.
${sysctls.map((s) => `echo ${q(s.split('=')[1] ?? '')} >/proc/sys/${s.split('=')[0]} 2>/dev/null`).join('\n')}
exit 0
`;
  const file = path.join(c.dir, 'cleanup.sh');
  writeFileSync(file, script, { mode: 0o700 });
  return { file, nftTables: tables };
}

/**
 * The bridge with the node's address (the Pods' gateway), Service addresses routed onto it
 * (never to the default route), and the guard that forwards nothing from it elsewhere.
 */
export async function setUpNetwork(net: HostNetwork): Promise<void> {
  const prefix = net.podCidr.split('/')[1] ?? '24';
  await sh('ip', ['link', 'add', 'name', net.bridge, 'type', 'bridge']);
  await sh('ip', ['addr', 'add', `${net.nodeIp}/${prefix}`, 'dev', net.bridge]);
  await sh('ip', ['link', 'set', net.bridge, 'up']);
  await sh('ip', ['route', 'add', net.serviceCidr, 'dev', net.bridge]);
  await sh('iptables', ['-I', 'FORWARD', ...forwardGuard(net.bridge)]);
  // Bridged Pod-to-Pod traffic (a Pod → a Service → a Pod on the same bridge, e.g. DNS) must pass
  // kube-proxy's rules, or replies skip the un-DNAT (the cleanup script restores the old value).
  writeFileSync('/proc/sys/net/bridge/bridge-nf-call-iptables', '1');
}

/** The CNI config containerd reads: our bridge with host-local addresses (kept in the run dir), no masquerade. */
export function cniConfig(net: HostNetwork, ipamDir: string): string {
  return JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: net.network,
      plugins: [
        {
          type: 'bridge',
          bridge: net.bridge,
          // The bridge's address is the Pods' default route: Service and apiserver traffic goes
          // through the host's kube-proxy rules (setUpNetwork's guard keeps it on this machine).
          isDefaultGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: net.podCidr, rangeStart: net.nodeIp.replace(/\.1$/, '.10') }]],
            dataDir: ipamDir,
          },
        },
      ],
    },
    null,
    2,
  );
}

/** What a teardown may have left: each entry names a leftover. Empty when the host is as it was. */
export async function leftovers(
  dir: string,
  net: HostNetwork,
  pgids: number[],
  nftTablesBefore: string[],
): Promise<string[]> {
  const found: string[] = [];
  const tables = (await sh('nft', ['list', 'tables'])).stdout.split('\n').map((l) => l.trim());
  found.push(...tables.filter((t) => t && !nftTablesBefore.includes(t)).map((t) => `nftables ${t}`));
  if (existsSync('/run/containerd/s'))
    found.push(...readdirSync('/run/containerd/s').map((s) => `shim socket /run/containerd/s/${s}`));
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(`${dir}/`));
  found.push(...mounts.map((m) => `mount ${m}`));
  const links = await sh('ip', ['-o', 'link', 'show']);
  if (links.stdout.includes(`: ${net.bridge}:`)) found.push(`bridge ${net.bridge}`);
  for (const ipt of ['iptables', 'ip6tables'])
    for (const t of ['filter', 'nat', 'mangle']) {
      const rules = await sh(ipt, ['-t', t, '-S']).catch(() => ({ stdout: '' }));
      found.push(
        ...rules.stdout
          .split('\n')
          .filter((l) => l.includes('KUBE-') || l.includes(` ${net.bridge} `))
          .map((l) => `${ipt} -t ${t}: ${l}`),
      );
    }
  for (const c of ['cpu', 'memory', 'pids'])
    if (existsSync(`/sys/fs/cgroup/${c}/kubepods`)) found.push(`cgroup /sys/fs/cgroup/${c}/kubepods`);
  for (const g of pgids) {
    try {
      process.kill(-g, 0);
      found.push(`process group ${g}`);
    } catch {
      // gone
    }
  }
  const shims = await sh('pgrep', ['-f', '--', `-address ${dir}/`]).catch(() => ({ stdout: '' }));
  found.push(
    ...shims.stdout
      .split('\n')
      .filter(Boolean)
      .map((p) => `shim ${p}`),
  );
  return found;
}
