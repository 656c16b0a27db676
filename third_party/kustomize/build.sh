#!/usr/bin/env bash
# Builds kustomize (the pinned release, by `go install` from the Go module proxy) into
# <repo>/.tools/bin for the offline manifest checks (make check-manifests). Current when
# the installed binary reports the pinned version. Without Go, and something to build, it
# warns and exits 0: only make check-manifests (part of make test) needs it.
set -euo pipefail
KUSTOMIZE_VERSION=v5.7.1
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/.tools/bin
mkdir -p "$out"
if [ "$("$out/kustomize" version 2>/dev/null)" = "$KUSTOMIZE_VERSION" ]; then
  echo "kustomize: kustomize $KUSTOMIZE_VERSION is up to date"
elif command -v go >/dev/null; then
  echo "kustomize: building kustomize $KUSTOMIZE_VERSION"
  GOBIN="$out" CGO_ENABLED=0 go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
else
  echo "kustomize: WARNING: kustomize $KUSTOMIZE_VERSION skipped: go is not on PATH; only make check-manifests (part of make test) needs it" >&2
fi
