#!/usr/bin/env bash
# Builds the pinned Jaeger v2 all-in-one (github.com/jaegertracing/jaeger/cmd/jaeger,
# an OpenTelemetry collector with Jaeger's storage and query extensions) from Go
# modules into <repo>/.dapr/bin/jaeger. Only `make dev TRACING=1` (and dapr-run)
# call this: the default setup does not build it. Skips a binary that is current.
set -euo pipefail
# Module v1.76.0 carries the v2 binary, which upstream stamps v2.13.0.
JAEGER_MODULE_VERSION=v1.76.0
JAEGER_VERSION=v2.13.0
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$root/.dapr/bin"
. "$root/third_party/go-build.sh"

v=github.com/jaegertracing/jaeger/internal/version
go_provide jaeger "$out" jaeger "$here" github.com/jaegertracing/jaeger/cmd/jaeger \
  "-X $v.latestVersion=$JAEGER_VERSION -X $v.commitSHA=$JAEGER_MODULE_VERSION" \
  sh -c "'$out/jaeger' version | grep -q '\"gitVersion\":\"$JAEGER_VERSION\"'"
