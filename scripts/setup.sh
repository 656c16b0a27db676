#!/usr/bin/env bash
# Idempotent install of everything the project needs on a fresh Debian machine:
# redis-server (apt), Node 24 (npm registry), npm packages, the Dapr runtime
# (built from Go modules), and the TypeScript build. Safe to re-run; fast when done.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
t0=$SECONDS

if ! command -v redis-server >/dev/null; then
  echo "setup: installing redis-server (apt)"
  sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_=sudo
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends redis-server >/dev/null
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
npx tsc -b
echo "setup: done in $((SECONDS - t0)) s"
