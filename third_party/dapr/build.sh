#!/usr/bin/env bash
# Provides the pinned Dapr runtime and CLI in <repo>/.dapr/bin, the layout the Dapr
# CLI expects with --runtime-path <repo>. For each binary, the first that applies:
#   1. its env var (DAPRD_PATH, DAPR_SENTRY_PATH, DAPR_PLACEMENT_PATH, DAPR_CLI_PATH):
#      must report the wanted version, otherwise this fails (it never builds instead);
#   2. an installed one reporting the wanted version: ~/.dapr/bin/<name> (`dapr init`),
#      for the CLI `dapr` on PATH, then ~/.dapr/bin/dapr;
#   3. built from Go modules (nothing downloaded outside the Go module proxy); skipped
#      when the last build is current, so Go is needed only when something is compiled.
# 1 and 2 are symlinked into .dapr/bin. DAPR_BUILD=always skips 2; DAPR_BUILD=never
# never runs Go. A binary that can be neither found nor built fails setup for daprd;
# sentry, placement and the CLI are only skipped with a warning (few things need them).
# `third_party/build dapr --plan` prints the choice per binary and changes nothing.
# DAPR_BIN_DIR (default <repo>/.dapr/bin) exists for the tests.
set -euo pipefail
DAPR_VERSION=1.18.3
# The proxy reachable here refused every dapr/cli release zip we tried from 1.13.0
# to 1.18.1 (v1.18.0 included); v1.12.0 is the newest found served; its `run -f` drives
# daprd 1.18 fine. See docs/development.md "Dapr runtime". An installed CLI may be newer (any 1.x
# from 1.12.0 on): the CLI only launches daprd, whose version is what is pinned.
CLI_VERSION=1.12.0
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${DAPR_BIN_DIR:-$root/.dapr/bin}
mode=${DAPR_BUILD:-auto}
case $mode in auto | always | never) ;; *)
  echo "dapr: DAPR_BUILD=$mode is not one of auto, always, never" >&2; exit 2 ;;
esac
mkdir -p "$out"
out=$(cd "$out" && pwd -P)
. "$root/third_party/go-build.sh"

tilde() { case $1 in "${HOME:-/nonexistent}"/*) echo "~${1#"$HOME"}" ;; *) echo "$1" ;; esac; }
wanted() { if [ "$1" = dapr ]; then echo "CLI >= $CLI_VERSION (1.x)"; else echo "$1 $DAPR_VERSION"; fi; }
env_var() {
  case $1 in daprd) echo DAPRD_PATH ;; sentry) echo DAPR_SENTRY_PATH ;;
    placement) echo DAPR_PLACEMENT_PATH ;; dapr) echo DAPR_CLI_PATH ;; esac
}

# The version a binary reports (empty if none). daprd and the CLI have --version
# ("1.18.3"; "CLI version: 1.12.0 \nRuntime version: ..."); sentry and placement
# only log "... -- version 1.18.3 -- commit ..." at start, so they are started with
# options that make them exit right after that line, before binding anything.
version_of() { # name path
  local bin=$2 text
  case $1 in
    daprd) text=$(timeout 10 "$bin" --version 2>/dev/null | head -n1 || true) ;;
    dapr) text=$(timeout 10 "$bin" --version 2>/dev/null | sed -n 's/^CLI version: *//p' || true) ;;
    sentry | placement)
      local probe=(--port -1 --healthz-port -1 --metrics-port x --listen-address 127.0.0.1
        --healthz-listen-address 127.0.0.1 --metrics-listen-address 127.0.0.1)
      [ "$1" = sentry ] && probe+=(--config /nonexistent/dapr-version-probe.yaml --issuer-credentials /nonexistent)
      text=$(timeout 10 "$bin" "${probe[@]}" 2>&1 </dev/null | sed -n 's/.* -- version \([^ ]*\) -- .*/\1/p' | head -n1 || true) ;;
  esac
  printf '%s' "$text" | tr -d '[:space:]'
}

# True when our build <out>/<name> reports exactly <version>.
reports() { [ "$(version_of "$1" "$out/$1")" = "$2" ]; } # name version

version_ok() { # name version
  if [ "$1" = dapr ]; then # 1.x with x >= the pinned minor
    local min=${CLI_VERSION#1.}
    [[ $2 =~ ^1\.([0-9]+)\.[0-9]+$ ]] && [ "${BASH_REMATCH[1]}" -ge "${min%%.*}" ]
  else
    [ "$2" = "$DAPR_VERSION" ]
  fi
}

# Resolves links first: a path that leads into $out (e.g. a link to .dapr/bin/daprd) would make a link loop.
in_out_dir() { local real; real=$(readlink -f "$1" 2>/dev/null) || real=$1; [ "$(cd "$(dirname "$real")" 2>/dev/null && pwd -P)" = "$out" ]; }

# The choice for one binary: prints "installed <path> <version>" or "build";
# fails (status 1, reason on stderr) when an env var names an unusable binary.
choose() { # name
  local name=$1 var bin v
  var=$(env_var "$name")
  bin=${!var:-}
  if [ -n "$bin" ]; then
    case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
    if [ "$mode" = always ]; then
      echo "dapr: $var is set but DAPR_BUILD=always; unset one of them" >&2; return 1
    fi
    if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then
      echo "dapr: $var=$bin is not an executable file" >&2; return 1
    fi
    if in_out_dir "$bin"; then
      echo "dapr: $var=$bin points into $out, where this script puts the chosen binaries" >&2; return 1
    fi
    v=$(version_of "$name" "$bin")
    if ! version_ok "$name" "$v"; then
      echo "dapr: $var=$bin reports version '${v:-none}'; want $(wanted "$name")" >&2; return 1
    fi
    echo "installed $bin $v"; return
  fi
  if [ "$mode" != always ]; then
    local candidates=()
    if [ "$name" = dapr ] && bin=$(command -v dapr); then candidates+=("$bin"); fi
    [ -n "${HOME:-}" ] && candidates+=("$HOME/.dapr/bin/$name")
    for bin in "${candidates[@]}"; do
      [ -f "$bin" ] && [ -x "$bin" ] && ! in_out_dir "$bin" || continue
      v=$(version_of "$name" "$bin")
      if version_ok "$name" "$v"; then echo "installed $bin $v"; return; fi
      echo "dapr: $(tilde "$bin") reports version '${v:-none}', want $(wanted "$name"): not used" >&2
    done
  fi
  echo build
}

# Neither found nor buildable: daprd is required; the others are skipped.
unavailable() { # name version why needed-by
  local name=$1 var
  var=$(env_var "$name")
  rm -f "${out:?}/$name" "$out/.$name.stamp" "$out/.$name.source"
  if [ "$name" = daprd ]; then
    echo "dapr: daprd $2 is not installed and cannot be built ($3). Either install Go (see docs/development.md)," >&2
    echo "      run \`dapr init --runtime-version $2\` (~/.dapr/bin/daprd), or set $var=/path/to/daprd ($2)." >&2
    exit 1
  fi
  echo "dapr: WARNING: $name $2 skipped: not installed and cannot be built ($3); only $4 needs it." >&2
  echo "      Set $var=/path/to/$name, install Go, or run \`dapr init\`." >&2
}

provide() { # name module-dir package version needed-by ldflags [go build flags...]
  local name=$1 mod=$root/third_party/dapr/$2 pkg=$3 version=$4 needed_by=$5 ldflags=$6; shift 6
  local decision path v stamp t0
  decision=$(choose "$name") || exit 1
  if [ "$decision" != build ]; then
    v=${decision##* } path=${decision#installed } && path=${path% *}
    rm -f "$out/.$name.stamp"
    ln -sfn "$path" "$out/$name"
    echo "installed $path $v" >"$out/.$name.source"
    echo "dapr: $name $v from $(tilde "$path") (installed)"
    return
  fi
  # Never build through a link to an installed binary (go build would overwrite it).
  [ -L "$out/$name" ] && rm -f "$out/$name"
  # Current: built from the module's current sources (a dependency change rebuilds) and reporting its version.
  stamp=$(go_stamp "$mod")
  if go_current "$out" "$name" "$stamp" reports "$name" "$version"; then
    echo "built from Go modules" >"$out/.$name.source"
    echo "dapr: $name $version built from Go modules (up to date)"; return
  fi
  if [ "$mode" = never ]; then unavailable "$name" "$version" "DAPR_BUILD=never" "$needed_by"; return; fi
  if ! command -v go >/dev/null; then unavailable "$name" "$version" "go is not on PATH" "$needed_by"; return; fi
  echo "dapr: building $name $version ($pkg) from Go modules"
  t0=$SECONDS
  rm -f "$out/$name" "$out/.$name.source"
  go_build "$out" "$name" "$stamp" "$mod" "$pkg" "$ldflags" "$@"
  echo "built from Go modules" >"$out/.$name.source"
  echo "dapr: built $name $version in $((SECONDS - t0)) s ($(du -hL "$out/$name" | cut -f1))"
}

if [ "${1:-}" = --plan ]; then
  for name in daprd sentry placement dapr; do
    decision=$(choose "$name") || exit 1
    echo "$name $decision"
  done
  exit 0
fi

runtime_ldflags="-X github.com/dapr/dapr/pkg/buildinfo.version=$DAPR_VERSION"
# stablecomponents registers upstream's stable component set (without it daprd
# panics at start); main.go adds the sqlite name resolver. (Upstream's release
# daprd, the one `dapr init` installs, is built with allcomponents, which includes
# it; its "-stablecomponents" flavour reports another version and is not used.)
provide daprd runtime ./cmd/daprd "$DAPR_VERSION" "everything" "$runtime_ldflags" -tags stablecomponents
# sentry issues workload certificates for mTLS (access-control tests).
provide sentry runtime github.com/dapr/dapr/cmd/sentry "$DAPR_VERSION" \
  "the mTLS test (test/integration/mtls.test.ts)" "$runtime_ldflags"
# placement: CLI 1.12 always points daprd at a placement service (it cannot be
# disabled there); without one daprd's /v1.0/healthz answers 500. `make dapr-run` runs it.
provide placement runtime github.com/dapr/dapr/cmd/placement "$DAPR_VERSION" "make dapr-run" "$runtime_ldflags"
# the CLI, for `dapr run -f dapr/dapr.yaml` (make dapr-run)
provide dapr cli github.com/dapr/cli "$CLI_VERSION" "make dapr-run" "-X main.version=$CLI_VERSION -X main.apiVersion=1.0"
