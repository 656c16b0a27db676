#!/usr/bin/env bash
# Builds promtool (the Prometheus version pinned in go.mod) and promql-names (our
# metric-name lister on Prometheus' PromQL parser) from Go modules into
# <repo>/.tools/bin, for the offline checks of k8s/observability. Skips a binary
# that is current, as dapr/build.sh does: its stamp (a hash of this module's
# go.mod, go.sum and Go files) matches and it reports the pinned version.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${PROMTOOL_OUT:-$(cd "$here/../.." && pwd)/.tools/bin}
version=$(awk '{ for (i = 1; i < NF; i++) if ($i == "github.com/prometheus/prometheus") print $(i + 1) }' "$here/go.mod")
stamp=$(cat "$here/go.mod" "$here/go.sum" $(find "$here" -name '*.go') | sha256sum | cut -c1-16)
mkdir -p "$out"
export CGO_ENABLED=0

build() { # name package version-check-command...
  local name=$1 pkg=$2; shift 2
  if [ -x "$out/$name" ] && [ "$(cat "$out/.$name.stamp" 2>/dev/null)" = "$stamp" ] && "$@" >/dev/null 2>&1; then
    echo "promtool: $name is up to date"; return
  fi
  echo "promtool: building $name (prometheus $version)"
  local t0=$SECONDS
  # Without -X, promtool reports an empty version: stamp the module's.
  (cd "$here" && go build -trimpath -ldflags "-s -w -X github.com/prometheus/common/version.Version=$version" -o "$out/$name" "$pkg")
  echo "$stamp" > "$out/.$name.stamp"
  echo "promtool: built $name in $((SECONDS - t0)) s"
}

build promtool github.com/prometheus/prometheus/cmd/promtool sh -c "'$out/promtool' --version | grep -q 'version $version '"
build promql-names ./promql-names sh -c "echo '[\"up\"]' | '$out/promql-names' | grep -q '\"up\"'"
