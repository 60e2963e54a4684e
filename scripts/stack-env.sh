# The local stack's settings (sourced by `make run` and `make bench`): every address and
# secret has a local default, and a variable already set wins.
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
