#!/usr/bin/env bash
# `make run`: PostgreSQL + PostGIS, the Temporal dev server (with its Web UI and SQLite
# persistence under .data/), migrations, the worker and the API. Ctrl-C stops what it
# started. Safe to run again.
. "$(dirname "$0")/common.sh"

API_BIND="${API_BIND:-127.0.0.1:8080}"
TEMPORAL_PORT="${TEMPORAL_PORT:-7233}"
TEMPORAL_UI_PORT="${TEMPORAL_UI_PORT:-8233}"
export API_BIND TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-http://127.0.0.1:$TEMPORAL_PORT}"
# A local stack: sandbox credentials and the demo data are allowed (a deployment runs
# as AMAR_ENV=production, the default, which refuses placeholders).
export AMAR_ENV="${AMAR_ENV:-development}"
# Locally every client is 127.0.0.1 and `make bench` books hundreds of visits for one
# owner: the per-address limits and per-owner caps are off unless set (deployments keep
# the defaults of the README).
export RATE_LIMIT_PER_MIN="${RATE_LIMIT_PER_MIN:-0}" RATE_LIMIT_AUTH_PER_MIN="${RATE_LIMIT_AUTH_PER_MIN:-0}"
export RATE_LIMIT_OFFERS_PER_MIN="${RATE_LIMIT_OFFERS_PER_MIN:-0}" RATE_LIMIT_CHECKOUT_PER_MIN="${RATE_LIMIT_CHECKOUT_PER_MIN:-0}"
export OWNER_MAX_UNPAID_REQUESTS="${OWNER_MAX_UNPAID_REQUESTS:-100000}"
export OWNER_MAX_CHECKOUTS_PER_HOUR="${OWNER_MAX_CHECKOUTS_PER_HOUR:-100000}"
export VET_MAX_OFFERS_PER_HOUR="${VET_MAX_OFFERS_PER_HOUR:-0}"
# Bookings a few minutes ahead, so `make walkthrough` reaches the visit's report at once.
export BOOKING_MIN_NOTICE_MINUTES="${BOOKING_MIN_NOTICE_MINUTES:-2}"
# A fixed secret for local runs only; deployments set their own.
export JWT_SECRET="${JWT_SECRET:-local-development-secret-not-for-production}"
export OFFER_LINK_SECRET="${OFFER_LINK_SECRET:-local-offer-link-secret-not-for-production}"
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://$API_BIND}"
export MP_WEBHOOK_SECRET="${MP_WEBHOOK_SECRET:-sandbox-mp-webhook-secret}"
# Where the emulators listen, and the clients pointed at them.
export SANDBOX_MERCATELY_BIND="${SANDBOX_MERCATELY_BIND:-127.0.0.1:8091}"
export SANDBOX_MERCADOPAGO_BIND="${SANDBOX_MERCADOPAGO_BIND:-127.0.0.1:8092}"
export SANDBOX_SMTP_BIND="${SANDBOX_SMTP_BIND:-127.0.0.1:2525}"
export SANDBOX_INBOX_BIND="${SANDBOX_INBOX_BIND:-127.0.0.1:8093}"
export SMTP_HOST="${SMTP_HOST:-${SANDBOX_SMTP_BIND%:*}}"
export SMTP_PORT="${SMTP_PORT:-${SANDBOX_SMTP_BIND##*:}}"
export SMTP_SECURITY="${SMTP_SECURITY:-none}"
export STAFF_ALERT_EMAIL="${STAFF_ALERT_EMAIL:-alertas@amarmascotas.ar}"
export SANDBOX_GOOGLE_BIND="${SANDBOX_GOOGLE_BIND:-127.0.0.1:8094}"
# The sandbox's own service account (its token_uri is the emulator's).
export GOOGLE_SERVICE_ACCOUNT_KEY_FILE="${GOOGLE_SERVICE_ACCOUNT_KEY_FILE:-$ROOT/sandbox/keys/service-account.json}"
export GOOGLE_CALENDAR_BASE_URL="${GOOGLE_CALENDAR_BASE_URL:-http://$SANDBOX_GOOGLE_BIND/calendar/v3}"
export GOOGLE_SHEETS_BASE_URL="${GOOGLE_SHEETS_BASE_URL:-http://$SANDBOX_GOOGLE_BIND/v4}"
export GOOGLE_CALENDAR_ID="${GOOGLE_CALENDAR_ID:-agenda@amarmascotas.ar}"
export GOOGLE_SHEET_ID="${GOOGLE_SHEET_ID:-sandbox-visitas}"
export SANDBOX_AFIP_BIND="${SANDBOX_AFIP_BIND:-127.0.0.1:8095}"
# The sandbox taxpayer (a monotributista, CUIT 20-12345678-6), its certificate issued by
# the AFIP emulator's own authority.
export AFIP_CUIT="${AFIP_CUIT:-20123456786}"
export AFIP_CERT_FILE="${AFIP_CERT_FILE:-$ROOT/sandbox/keys/afip-taxpayer.crt}"
export AFIP_KEY_FILE="${AFIP_KEY_FILE:-$ROOT/sandbox/keys/afip-taxpayer.key}"
export AFIP_WSAA_URL="${AFIP_WSAA_URL:-http://$SANDBOX_AFIP_BIND/ws/services/LoginCms}"
export AFIP_WSFE_URL="${AFIP_WSFE_URL:-http://$SANDBOX_AFIP_BIND/wsfev1/service.asmx}"
export MERCATELY_BASE_URL="${MERCATELY_BASE_URL:-http://$SANDBOX_MERCATELY_BIND/retailers/api/v1}"
export MP_BASE_URL="${MP_BASE_URL:-http://$SANDBOX_MERCADOPAGO_BIND}"

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
