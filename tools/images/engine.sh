# shellcheck shell=bash disable=SC2034 # (variables for the scripts that source this)
# Sourced by tools/images/*: picks the container engine and provides the helpers they share.
# docker when a Docker engine answers; else podman (installed from apt with runc when
# missing), with this directory's containers.conf. ENGINE=docker|podman overrides.

images_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$images_dir/../.." && pwd)
# Build artefacts (base-image rootfs, SBOMs, measurements): git-ignored.
out_dir=${IMAGES_OUT:-$repo_root/.run/images}

# apt-get install <pkg...> unless each command is already there (idempotent; needs root).
apt_ensure() { # "command:package"...
  local missing=() pair
  for pair in "$@"; do command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "images: installing ${missing[*]} from apt" >&2
  [ "$(id -u)" -eq 0 ] || { echo "images: need root to apt-get install ${missing[*]}" >&2; return 1; }
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

if [ -z "${ENGINE:-}" ]; then
  # The docker CLI alone is not enough: it needs a daemon that answers.
  if command -v docker >/dev/null && timeout 10 docker info >/dev/null 2>&1; then ENGINE=docker; else ENGINE=podman; fi
fi
if [ "$ENGINE" = podman ]; then
  apt_ensure podman:podman runc:runc
  export CONTAINERS_CONF=${CONTAINERS_CONF:-$images_dir/containers.conf}
fi
export ENGINE

# Build RUN steps on the host network: podman's default bridge needs netavark/CNI setup these hosts lack.
build_net=()
quiet=() # podman's --quiet for import and save (docker's have none; they print no progress)
if [ "$ENGINE" = podman ]; then
  build_net=(--network=host)
  quiet=(--quiet)
fi
