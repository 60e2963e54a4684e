#!/usr/bin/env bash
# `make run`: PostgreSQL + PostGIS, the Temporal dev server (with its Web UI and SQLite
# persistence under .data/), migrations, the worker and the API. Ctrl-C stops what it
# started. Safe to run again.
. "$(dirname "$0")/common.sh"

. "$ROOT/scripts/stack-env.sh"

bash "$ROOT/scripts/ensure-postgres.sh"
bash "$ROOT/scripts/ensure-temporal.sh"

require_free_port "${API_BIND##*:}" "the API" API_BIND
require_free_port "${SANDBOX_MERCATELY_BIND##*:}" "the Mercately emulator" SANDBOX_MERCATELY_BIND
require_free_port "${SANDBOX_MERCADOPAGO_BIND##*:}" "the MercadoPago emulator" SANDBOX_MERCADOPAGO_BIND
require_free_port "${SANDBOX_SMTP_BIND##*:}" "the SMTP sink" SANDBOX_SMTP_BIND
require_free_port "${SANDBOX_INBOX_BIND##*:}" "the SMTP sink's inbox page" SANDBOX_INBOX_BIND
require_free_port "${SANDBOX_GOOGLE_BIND##*:}" "the Google emulator" SANDBOX_GOOGLE_BIND
require_free_port "${SANDBOX_AFIP_BIND##*:}" "the AFIP emulator" SANDBOX_AFIP_BIND

log "building the api, the worker and the sandbox emulators (the first build takes about 10 minutes on 2 cores; later ones seconds)"
cargo build --bin api --bin worker --bin sandbox
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
BIN="$TARGET_DIR/debug"

pids=()
names=()
# Starts "$@" in the background as the process called $1 (for the messages below).
start() {
  local name=$1
  shift
  "$@" &
  pids+=($!)
  names+=("$name")
}
name_of() {
  local i
  for i in "${!pids[@]}"; do
    [ "${pids[$i]}" = "$1" ] && { printf '%s' "${names[$i]}"; return; }
  done
  printf 'a process'
}
cleanup() {
  trap - INT TERM EXIT
  if [ ${#pids[@]} -gt 0 ]; then
    log "stopping"
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap cleanup INT TERM EXIT

mkdir -p "$DATA"
if wait_for_port 127.0.0.1 "$TEMPORAL_PORT" 0; then
  log "Temporal already listens on :$TEMPORAL_PORT; using it"
else
  require_free_port "$TEMPORAL_UI_PORT" "the Temporal UI" TEMPORAL_UI_PORT
  log "starting the Temporal dev server (state in .data/temporal.db, log in .data/temporal.log)"
  start "the Temporal dev server (log: .data/temporal.log)" \
    bash -c 'exec bash "$0/scripts/temporal-dev.sh" "$1" "$2" "$3" >"$4" 2>&1' \
    "$ROOT" "$TEMPORAL_PORT" "$TEMPORAL_UI_PORT" "$DATA/temporal.db" "$DATA/temporal.log"
  wait_for_port 127.0.0.1 "$TEMPORAL_PORT" 60 || die "Temporal did not start; see .data/temporal.log"
fi

log "applying migrations"
"$BIN/api" migrate
log "loading demo data"
"$BIN/api" seed-demo

# The external services' emulators (Mercately, MercadoPago, SMTP, Google); deployments point the
# clients at the real services instead.
start "the sandbox emulators" "$BIN/sandbox"
start "the worker" "$BIN/worker"
start "the API" "$BIN/api" serve
wait_for_port "${API_BIND%:*}" "${API_BIND##*:}" 60 || die "the API did not start (its log is above)"

cat <<MSG

  AMAR Mascotas is up.
    API          http://$API_BIND/api/v1
    API docs     http://$API_BIND/api/docs  (OpenAPI: http://$API_BIND/api/v1/openapi.json)
    Health       http://$API_BIND/readyz
    Temporal UI  http://127.0.0.1:$TEMPORAL_UI_PORT  (filter: RequestState="vet_asked")
    WhatsApp     http://$SANDBOX_MERCATELY_BIND/_emulator/messages  (what the Mercately emulator received)
    Payments     http://$SANDBOX_MERCADOPAGO_BIND/_emulator/payments  (the MercadoPago emulator; pay at a request's payment_link)
    Email        http://$SANDBOX_INBOX_BIND/  (the inbox of the SMTP sink every email goes to)
    Calendar     http://$SANDBOX_GOOGLE_BIND/  (the Google emulator: the visits' events and the sheet of visits)
    Invoices     http://$SANDBOX_AFIP_BIND/afip/  (the AFIP emulator: every receipt it authorized, with its CAE)

  Try it: \`make walkthrough\` (in another terminal) books a visit a few minutes ahead and
  takes it to its report, saying at each step where to look. By hand:
    STAFF=\$(curl -s -X POST http://$API_BIND/api/v1/auth/login -H 'content-type: application/json' \\
      -d '{"email":"staff@demo.amarmascotas.ar","password":"demo-staff-2026"}' | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
    curl -s -X POST http://$API_BIND/api/v1/service-requests -H "authorization: Bearer \$STAFF" \\
      -H 'content-type: application/json' -d '{"description":"Vacuna antirrábica para Luna"}'
    curl -s http://$API_BIND/api/v1/service-requests/<id> -H "authorization: Bearer \$STAFF"

  Ctrl-C stops everything started here.

MSG
# When one process ends, say which and how before stopping the others.
status=0
wait -n -p ended "${pids[@]}" || status=$?
if [ -n "${ended:-}" ]; then
  printf '\033[1;31m%s stopped (exit status %s); its last lines are above. Stopping the rest.\033[0m\n' \
    "$(name_of "$ended")" "$status" >&2
fi
