#!/usr/bin/env bash
# Tools only the tests use, into the project-local venv: moto's S3-compatible server, so
# the S3 storage backend is tested against the S3 protocol rather than assumed to work,
# schemathesis, which fuzzes the API against its own OpenAPI document, and the tools
# other checks read their output with.
. "$(dirname "$0")/common.sh"

want="moto[s3,server]==$MOTO_VERSION"
installed=$("$VENV/bin/pip" freeze 2>/dev/null || true)
if ! grep -qx "moto==$MOTO_VERSION" <<<"$installed" || [ ! -x "$VENV/bin/moto_server" ]; then
  log "installing $want into .venv"
  "$VENV/bin/pip" install -q --disable-pip-version-check "$want"
fi
[ -x "$VENV/bin/moto_server" ] || die "moto_server is missing from .venv/bin"

if ! grep -qx "schemathesis==$SCHEMATHESIS_VERSION" <<<"$installed" || [ ! -x "$VENV/bin/st" ]; then
  log "installing schemathesis==$SCHEMATHESIS_VERSION into .venv"
  "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
[ -x "$VENV/bin/st" ] || die "schemathesis (st) is missing from .venv/bin"

# The booking page's test drives headless Chromium over the DevTools protocol: Debian's
# chromium, and the `websockets` package in .venv.
if ! grep -qx "websockets==$WEBSOCKETS_VERSION" <<<"$installed"; then
  log "installing websockets==$WEBSOCKETS_VERSION into .venv"
  "$VENV/bin/pip" install -q --disable-pip-version-check "websockets==$WEBSOCKETS_VERSION"
fi
if ! command -v chromium >/dev/null; then
  log "installing chromium from Debian's packages (headless, for the booking page's test)"
  as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium >/dev/null
fi

# The report PDF's test reads it back as people would: poppler's pdftotext, pdfinfo and
# pdfimages, from Debian's packages.
if ! command -v pdftotext >/dev/null || ! command -v pdfimages >/dev/null; then
  log "installing poppler-utils (pdftotext) from Debian's packages"
  as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq poppler-utils >/dev/null
fi

# The TypeScript client check (tests/tests/e2e/project/typescript_client.rs): Node.js from
# Debian's packages, the npm packages pinned in clients/typescript/package-lock.json.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  log "installing nodejs and npm from Debian's packages"
  as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq nodejs npm >/dev/null
fi
client="$ROOT/clients/typescript"
stamp="$client/node_modules/.package-lock.json"
if [ ! -x "$client/node_modules/.bin/tsc" ] || [ "$client/package-lock.json" -nt "$stamp" ]; then
  log "installing the TypeScript client check's npm packages (npm ci)"
  (cd "$client" && npm ci --no-audit --no-fund --loglevel=error)
fi
