#!/usr/bin/env bash
# Builds the control plane `make check-cluster` runs into <repo>/.tools/kube/bin
# (git-ignored): etcd, kube-apiserver, kube-controller-manager and kubectl from
# the Go modules in third_party/kube/{etcd,kubernetes}, the Dapr sidecar injector and
# operator from third_party/kube/dapr (at third_party/dapr/runtime's pin; sentry comes
# from `third_party/build dapr`), and helm (renders the Dapr chart) from third_party/kube/helm. A binary is
# rebuilt only when its module's pins or Go files change (cold: docs/kubernetes.md "make check-cluster").
# `--node` also builds what `make check-node` adds: kube-scheduler, kubelet, kube-proxy and the
# Pod sandbox's pause (all Kubernetes binaries in one go build), CoreDNS (third_party/kube/coredns)
# and the Dapr scheduler (the node runs the chart's whole control plane).
# KUBE_BIN_DIR overrides the output directory.
set -euo pipefail
node=false
for arg in "$@"; do
  case $arg in
    --node) node=true ;;
    *) echo "kube: unknown option $arg (known: --node)" >&2; exit 2 ;;
  esac
done
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${KUBE_BIN_DIR:-$root/.tools/kube/bin}
here=$root/third_party/kube
. "$root/third_party/go-build.sh"
command -v go >/dev/null || { echo "kube: go is not on PATH (needed to build the control plane)" >&2; exit 1; }

K8S_VERSION=v1.34.4
ETCD_VERSION=3.6.16
DAPR_VERSION=1.18.3
HELM_VERSION=3.19.4
COREDNS_VERSION=1.14.7
# What upstream's release build stamps (hack/lib/version.sh); unstamped binaries say v0.0.0-master.
k8s_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=34 -X $pkg.gitTreeState=clean"
done
dapr_ldflags="-X github.com/dapr/dapr/pkg/buildinfo.version=$DAPR_VERSION"

provide() { # name module package version-check-regex ldflags check-args...
  local name=$1 mod=$here/$2 pkg=$3 want=$4 ldflags=$5
  shift 5
  go_provide kube "$out" "$name" "$mod" "$pkg" "$ldflags" reports "$name" "$want" "$@"
}

# True when `<out>/<name> args...` prints <regex>. KUBECONFIG points nowhere: the Dapr
# binaries log their version first thing, then fail for want of a cluster.
reports() { # name regex args...
  local name=$1 want=$2
  shift 2
  local text
  text=$(KUBECONFIG=/nonexistent/kubeconfig timeout 20 "$out/$name" "$@" 2>&1 </dev/null || true)
  grep -q -- "$want" <<<"$text"
}

# One Dapr pin: the injector and operator must match the daprd the repo runs.
pin() { sed -n 's|^[[:space:]]*require github.com/dapr/dapr \(v[^ ]*\)$|\1|p; s|^[[:space:]]*github.com/dapr/dapr \(v[^ ]*\)$|\1|p' "$1" | head -n1; }
if [ "$(pin "$here/dapr/go.mod")" != "$(pin "$root/third_party/dapr/runtime/go.mod")" ]; then
  echo "kube: third_party/kube/dapr pins dapr $(pin "$here/dapr/go.mod"), third_party/dapr/runtime $(pin "$root/third_party/dapr/runtime/go.mod"): make them one" >&2
  exit 1
fi

# The Kubernetes binaries: whichever are not current, in one go build (kube-apiserver is by far
# the longest: 5 to 14 minutes on 2 busy cores).
k8s=(
  kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver
  kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager
  kubectl=k8s.io/kubernetes/cmd/kubectl
)
if $node; then
  k8s+=(
    kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler
    kubelet=k8s.io/kubernetes/cmd/kubelet
    kube-proxy=k8s.io/kubernetes/cmd/kube-proxy
    pause=./pause
  )
fi
k8s_reports() { # name
  case $1 in
    kubectl) reports kubectl "Client Version: $K8S_VERSION" version --client ;;
    pause) reports pause "context-qa pause" -v ;;
    *) reports "$1" "Kubernetes $K8S_VERSION" --version ;;
  esac
}
go_provide_set kube "$out" "$here/kubernetes" "$k8s_ldflags" k8s_reports "${k8s[@]}"
provide etcd etcd . "etcd Version: $ETCD_VERSION" "" --version
# The node's cluster DNS (its own module: CoreDNS pins a newer client-go than Kubernetes 1.34).
if $node; then provide coredns coredns . "CoreDNS-$COREDNS_VERSION" "" -version; fi
provide injector dapr github.com/dapr/dapr/cmd/injector "version $DAPR_VERSION" "$dapr_ldflags" --healthz-port -1 --metrics-port x
provide operator dapr github.com/dapr/dapr/cmd/operator "version $DAPR_VERSION" "$dapr_ldflags" --healthz-port -1 --metrics-port x
# The node runs the chart's whole control plane as Pods: the scheduler too (daprd's health needs it).
if $node; then provide scheduler dapr github.com/dapr/dapr/cmd/scheduler "version $DAPR_VERSION" "$dapr_ldflags" --healthz-port -1 --metrics-port x; fi
# Renders the Dapr chart the docs install, as Helm would.
provide helm helm helm.sh/helm/v3/cmd/helm "v$HELM_VERSION" "-X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION" version --short
# A client that gets an app's identity from sentry and lists what the operator serves it.
provide sidecar-probe dapr ./sidecar-probe "Usage" "" --help
