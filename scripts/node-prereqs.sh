#!/usr/bin/env bash
# What `make check-node` needs from apt and `make setup` does not install (it is an opt-in
# tier): containerd 1.6 with its CRI plugin (Debian 12's 1.6.20; kubelet 1.34 still talks to
# it), runc, Debian's CNI plugins (bridge, host-local, loopback in /usr/lib/cni), conntrack,
# iptables (kube-proxy's mode), nftables (the teardown lists and removes tables), podman
# (saves images for containerd) and iproute2. Idempotent; needs root, as the node does.
# The test runs its own containerd (its own root, state and socket), beside any system one.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "node-prereqs: the test node needs root" >&2; exit 1; }
missing=()
need() { # command-or-path package
  if [[ $1 == /* ]]; then [ -e "$1" ] || missing+=("$2"); else command -v "$1" >/dev/null || missing+=("$2"); fi
}
need containerd containerd
need runc runc
need /usr/lib/cni/bridge containernetworking-plugins
need conntrack conntrack
need iptables iptables
need nft nftables
need podman podman
need ip iproute2
if [ ${#missing[@]} -gt 0 ]; then
  echo "node-prereqs: installing ${missing[*]} (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
