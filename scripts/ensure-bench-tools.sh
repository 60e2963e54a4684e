#!/usr/bin/env bash
# Tools only the benchmarks use: wrk (the HTTP load generator, from Debian's packages)
# and matplotlib in the project-local venv (the plots of `make bench`).
. "$(dirname "$0")/common.sh"

if ! command -v wrk >/dev/null; then
  log "installing wrk from Debian's packages"
  as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq wrk >/dev/null
fi
if ! "$VENV/bin/pip" freeze 2>/dev/null | grep -qx "matplotlib==$MATPLOTLIB_VERSION"; then
  log "installing matplotlib==$MATPLOTLIB_VERSION into .venv"
  "$VENV/bin/pip" install -q --disable-pip-version-check "matplotlib==$MATPLOTLIB_VERSION"
fi
