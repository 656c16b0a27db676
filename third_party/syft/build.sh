#!/usr/bin/env bash
# Builds syft (the version pinned in go.mod) from Go modules into <repo>/.tools/bin, or
# $SYFT_OUT, for the per-image SBOMs of `make images`. Skips a binary that is current
# (its stamp matches this module and it reports the pinned version), as promtool does.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${SYFT_OUT:-$(cd "$here/../.." && pwd)/.tools/bin}
version=$(awk '$1 == "github.com/anchore/syft" { print $2 }' "$here/go.mod")
. "$here/../go-build.sh"
# Without -X, syft reports "[not provided]" as its version.
go_provide syft "$out" syft "$here" github.com/anchore/syft/cmd/syft "-X main.version=${version#v}" \
  sh -c "'$out/syft' version | grep -q '${version#v}'"
