#!/usr/bin/env bash
# Builds promtool (the Prometheus version pinned in go.mod) and promql-names (our
# PromQL lister on Prometheus' parser) from Go modules into <repo>/.tools/bin, or
# $PROMTOOL_OUT, for the offline checks of k8s/observability. Skips a binary that is
# current, as third_party/dapr/build.sh does: its stamp (a hash of this module's go.mod, go.sum and
# Go files) matches and it reports the pinned version. Without Go, and something to
# build, it warns and exits 0: only test/observability needs these binaries.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${PROMTOOL_OUT:-$(cd "$here/../.." && pwd)/.tools/bin}
version=$(awk '{ for (i = 1; i < NF; i++) if ($i == "github.com/prometheus/prometheus") print $(i + 1) }' "$here/go.mod")
. "$here/../go-build.sh"
stamp=$(go_stamp "$here")

build() { # name package
  local name=$1 pkg=$2
  echo "promtool: building $name (prometheus $version)"
  local t0=$SECONDS
  # Without -X, promtool reports an empty version: stamp the module's.
  go_build "$out" "$name" "$stamp" "$here" "$pkg" "-X github.com/prometheus/common/version.Version=$version"
  echo "promtool: built $name in $((SECONDS - t0)) s"
}

declare -A pkg=([promtool]=github.com/prometheus/prometheus/cmd/promtool [promql-names]=./promql-names)
stale=()
go_current "$out" promtool "$stamp" sh -c "'$out/promtool' --version | grep -q 'version $version '" || stale+=(promtool)
go_current "$out" promql-names "$stamp" sh -c "echo '[\"up\"]' | '$out/promql-names' | grep -q '\"up\"'" || stale+=(promql-names)

for name in promtool promql-names; do
  [[ " ${stale[*]} " == *" $name "* ]] || echo "promtool: $name is up to date"
done
if [ ${#stale[@]} -gt 0 ] && ! command -v go >/dev/null; then
  echo "promtool: WARNING: ${stale[*]} (prometheus $version) not built: go is not on PATH; only test/observability (part of make test) needs them" >&2
  exit 0
fi
for name in "${stale[@]}"; do build "$name" "${pkg[$name]}"; done
