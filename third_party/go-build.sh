# Sourced by the Go builds under third_party/ (dapr, kube, jaeger, promtool, syft): a Go
# program (or a set of them, go_provide_set) built from a module of ours, skipped while an
# earlier build is current. The stamp
# is the content of the module's go.sum, go.mod and Go files, not their path: moving a
# module does not rebuild it.

# What a build depends on: its module's go.sum, go.mod and Go files.
go_stamp() { # module-dir
  cat "$1/go.sum" "$1/go.mod" $(find "$1" -name '*.go') | sha256sum | cut -c1-16
}

# True when <out>/<name> was built from <stamp> and `check...` succeeds (it reports the pinned version).
go_current() { # out name stamp check...
  local out=$1 name=$2 stamp=$3
  shift 3
  [ -f "$out/$name" ] && [ -x "$out/$name" ] && [ "$(cat "$out/.$name.stamp" 2>/dev/null)" = "$stamp" ] && "$@" >/dev/null 2>&1
}

# Builds <package> of the module in <module-dir> into <out>/<name> (static, stripped) and records <stamp>.
go_build() { # out name stamp module-dir package ldflags [go build flags...]
  local out=$1 name=$2 stamp=$3 dir=$4 pkg=$5 ldflags=$6
  shift 6
  mkdir -p "$out"
  (cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" "$@" -o "$out/$name" "$pkg")
  echo "$stamp" >"$out/.$name.stamp"
}

# go_current, else a timed go_build, saying which under <label>; Go must be on PATH to build.
go_provide() { # label out name module-dir package ldflags check...
  local label=$1 out=$2 name=$3 dir=$4 pkg=$5 ldflags=$6 stamp t0
  shift 6
  stamp=$(go_stamp "$dir")
  if go_current "$out" "$name" "$stamp" "$@"; then
    echo "$label: $name is up to date"
    return
  fi
  command -v go >/dev/null || { echo "$label: go is not on PATH; cannot build $name ($pkg)" >&2; return 1; }
  echo "$label: building $name ($pkg; a first build takes minutes)"
  t0=$SECONDS
  go_build "$out" "$name" "$stamp" "$dir" "$pkg" "$ldflags"
  echo "$label: built $name in $((SECONDS - t0)) s ($(du -h "$out/$name" | cut -f1))"
}

# Several main packages of one module (<name>=<package> each): those that are not current are
# built by ONE `go build`, so they share compiled packages and link in parallel, each recorded
# with the module's stamp. <check> <name> is true when <out>/<name> reports the pinned version.
go_provide_set() { # label out module-dir ldflags check name=package...
  local label=$1 out=$2 dir=$3 ldflags=$4 check=$5 stamp entry name t0 tmp i
  shift 5
  local names=() pkgs=()
  stamp=$(go_stamp "$dir")
  for entry in "$@"; do
    name=${entry%%=*}
    if go_current "$out" "$name" "$stamp" "$check" "$name"; then
      echo "$label: $name is up to date"
    else
      names+=("$name")
      pkgs+=("${entry#*=}")
    fi
  done
  [ ${#names[@]} -gt 0 ] || return 0
  command -v go >/dev/null || { echo "$label: go is not on PATH; cannot build ${names[*]}" >&2; return 1; }
  echo "$label: building ${names[*]} in one go build (a first build takes minutes)"
  t0=$SECONDS
  mkdir -p "$out"
  tmp=$(mktemp -d "$out/.build.XXXXXX")
  # A directory -o writes each binary under its package's last path element.
  if ! (cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" -o "$tmp/" "${pkgs[@]}"); then
    rm -rf "$tmp"
    return 1
  fi
  for i in "${!names[@]}"; do
    mv "$tmp/$(basename "${pkgs[$i]}")" "$out/${names[$i]}"
    echo "$stamp" >"$out/.${names[$i]}.stamp"
  done
  rmdir "$tmp"
  echo "$label: built ${names[*]} in $((SECONDS - t0)) s ($(cd "$out" && du -ch "${names[@]}" | tail -n1 | cut -f1) in all)"
}
