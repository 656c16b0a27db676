#!/usr/bin/env bash
# Builds the pinned Dapr runtime and CLI from Go modules (no `dapr init`, nothing
# downloaded outside the Go module proxy) into <repo>/.dapr/bin, the layout the
# Dapr CLI expects with --runtime-path <repo>. Skips binaries that are current.
set -euo pipefail
DAPR_VERSION=1.18.3
# The proxy reachable here refused every dapr/cli release zip we tried from 1.13.0
# to 1.18.1 (v1.18.0 included); v1.12.0 is the newest found served; its `run -f` drives
# daprd 1.18 fine. See README "Dapr runtime".
CLI_VERSION=1.12.0
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/.dapr/bin"
mkdir -p "$out"
export CGO_ENABLED=0

# A binary is current when it reports its pinned version and was built from the
# current sources of its module (a dependency change rebuilds).
build() { # name module-dir package version ldflags [go build flags...]
  local name=$1 mod=$root/dapr/$2 pkg=$3 version=$4 ldflags=$5; shift 5
  local stamp
  stamp=$(cat "$mod/go.sum" "$mod/go.mod" $(find "$mod" -name '*.go') | sha256sum | cut -c1-16)
  if [ -x "$out/$name" ] && [ "$(cat "$out/.$name.stamp" 2>/dev/null)" = "$stamp" ] \
    && "$out/$name" --version 2>/dev/null | grep -q "$version"; then
    echo "dapr: $name $version is up to date"; return
  fi
  echo "dapr: building $name $version ($pkg)"
  local t0=$SECONDS
  (cd "$mod" && go build -trimpath -ldflags "-s -w $ldflags" "$@" -o "$out/$name" "$pkg")
  echo "$stamp" > "$out/.$name.stamp"
  echo "dapr: built $name in $((SECONDS - t0)) s ($(du -h "$out/$name" | cut -f1))"
}

runtime_ldflags="-X github.com/dapr/dapr/pkg/buildinfo.version=$DAPR_VERSION"
# stablecomponents registers upstream's stable component set (without it daprd
# panics at start); main.go adds the sqlite name resolver.
build daprd runtime ./cmd/daprd "$DAPR_VERSION" "$runtime_ldflags" -tags stablecomponents
# sentry issues workload certificates for mTLS (access-control tests).
build sentry runtime github.com/dapr/dapr/cmd/sentry "$DAPR_VERSION" "$runtime_ldflags"
# placement: CLI 1.12 always points daprd at a placement service (it cannot be
# disabled there); without one daprd's /v1.0/healthz answers 500. `make dapr-run` runs it.
build placement runtime github.com/dapr/dapr/cmd/placement "$DAPR_VERSION" "$runtime_ldflags"
# the CLI, for `dapr run -f dapr/dapr.yaml`
build dapr cli github.com/dapr/cli "$CLI_VERSION" "-X main.version=$CLI_VERSION -X main.apiVersion=1.0"
