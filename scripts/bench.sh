#!/usr/bin/env bash
# `make bench`: the benchmark suite, in release binaries, on a stack of its own (a
# PostgreSQL with pg_stat_statements, an in-memory Temporal dev server, the emulators,
# the worker and the API, all on free ports; nothing of `make run` is touched):
#   1. lifecycles: N complete lifecycles at each concurrency in BENCH_CONCURRENCY, then
#      the no-op twin workflow at the same concurrencies on the same server;
#   2. waiting: BENCH_WAITING requests opened and left waiting for a vet, with the
#      worker's default sticky cache and with BENCH_TUNED_CACHE;
#   3. api: the data generator (BENCH_VETS vets, BENCH_OWNERS owners and pets,
#      BENCH_REQUESTS requests), then wrk at fixed rates (BENCH_RATES) per endpoint,
#      and EXPLAIN ANALYZE of each endpoint's query.
# It prints one table and writes results.jsonl, the plots (PNG), explain.txt and the
# stack's logs (logs/) to BENCH_OUT (default .data/bench). BENCH_SUITE picks parts (default
# "lifecycles waiting api"). `make test` runs the whole suite at tiny sizes
# (BENCH_SMOKE=1) so that it cannot rot; the figures are only worth reading from a
# release build on an otherwise idle machine.
. "$(dirname "$0")/common.sh"

SMOKE="${BENCH_SMOKE:-}"
if [ -n "$SMOKE" ]; then
  : "${N:=2}" "${BENCH_CONCURRENCY:=1 2}" "${BENCH_WAITING:=20}" "${BENCH_TUNED_CACHE:=5}"
  : "${BENCH_VETS:=50}" "${BENCH_OWNERS:=100}" "${BENCH_REQUESTS:=200}" "${BENCH_RATES:=50}"
  : "${BENCH_WRK_SECONDS:=2}" "${BENCH_IDLE_SECONDS:=2}" "${BENCH_PROFILE:=debug}"
fi
N="${N:-60}"
BENCH_CONCURRENCY="${BENCH_CONCURRENCY:-${C:-1 2 4 8}}"
BENCH_WAITING="${BENCH_WAITING:-10000}"
BENCH_TUNED_CACHE="${BENCH_TUNED_CACHE:-200}"
BENCH_VETS="${BENCH_VETS:-5000}"
BENCH_OWNERS="${BENCH_OWNERS:-50000}"
BENCH_REQUESTS="${BENCH_REQUESTS:-100000}"
BENCH_RATES="${BENCH_RATES:-100 250 500 1000}"
BENCH_WRK_SECONDS="${BENCH_WRK_SECONDS:-20}"
BENCH_IDLE_SECONDS="${BENCH_IDLE_SECONDS:-20}"
BENCH_SUITE="${BENCH_SUITE:-lifecycles waiting api}"
BENCH_PROFILE="${BENCH_PROFILE:-release}"
BENCH_OUT="${BENCH_OUT:-$DATA/bench}"
mkdir -p "$BENCH_OUT"
BENCH_OUT="$(cd "$BENCH_OUT" && pwd)"
export N BENCH_CONCURRENCY BENCH_WAITING BENCH_TUNED_CACHE BENCH_VETS BENCH_OWNERS \
  BENCH_REQUESTS BENCH_RATES BENCH_WRK_SECONDS BENCH_OUT BENCH_IDLE_SECONDS

bash "$ROOT/scripts/ensure-postgres.sh"
bash "$ROOT/scripts/ensure-temporal.sh"
bash "$ROOT/scripts/ensure-bench-tools.sh"

if [ "$BENCH_PROFILE" = release ]; then
  log "building release binaries (cargo build --release: the first build takes about 25 minutes on 2 cores; later ones seconds)"
  cargo build --release --bin api --bin worker --bin sandbox --bin bench
else
  cargo build --bin api --bin worker --bin sandbox --bin bench
fi
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
BIN="$TARGET_DIR/$BENCH_PROFILE"

tmp=$(mktemp -d /tmp/amar-bench.XXXXXX)
chmod 755 "$tmp"
pids=()
cleanup() {
  trap - INT TERM EXIT
  [ ${#pids[@]} -gt 0 ] && { kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; }
  [ -f "$tmp/pg/postmaster.pid" ] && as_postgres "$PGBIN/pg_ctl" -D "$tmp/pg" -m immediate stop >/dev/null 2>&1 || true
  # The stack's logs stay with the results, to read what the services said meanwhile.
  if mkdir -p "$BENCH_OUT/logs" 2>/dev/null; then
    rm -f "$BENCH_OUT"/logs/*.log
    for log in worker api sandbox temporal; do
      [ -f "$tmp/$log.log" ] && cp "$tmp/$log.log" "$BENCH_OUT/logs/" || true
    done
  fi
  rm -rf "$tmp"
}
trap cleanup INT TERM EXIT

# A PostgreSQL of the benchmark's own, so that pg_stat_statements counts its queries
# and auto_explain can show their plans (the shared cluster is left as it is). Its
# log_min_duration stays off the command line, which would win over the ALTER SYSTEM
# that switches it on while an endpoint's plans are read.
PGBIN="/usr/lib/postgresql/$PG_MAJOR/bin"
pgport=$(free_port)
mkdir -p "$tmp/pg" "$tmp/pgsock"
as_root chown postgres "$tmp/pg" "$tmp/pgsock"
log "starting a PostgreSQL of the benchmark's own on :$pgport"
as_postgres "$PGBIN/initdb" -D "$tmp/pg" -U amar --auth=trust >/dev/null
as_postgres "$PGBIN/pg_ctl" -D "$tmp/pg" -l "$tmp/pg/server.log" -w -o \
  "-p $pgport -k $tmp/pgsock -c listen_addresses=127.0.0.1 -c shared_preload_libraries=pg_stat_statements,auto_explain -c auto_explain.log_analyze=on -c auto_explain.log_buffers=on -c max_connections=200" \
  start >/dev/null
export DATABASE_URL="postgres://amar@127.0.0.1:$pgport/amar_bench" BENCH_PG_LOG="$tmp/pg/server.log"
psql "postgres://amar@127.0.0.1:$pgport/postgres" -qc "CREATE DATABASE amar_bench" >/dev/null
psql "$DATABASE_URL" -qc "CREATE EXTENSION postgis; CREATE EXTENSION pg_stat_statements" >/dev/null

TEMPORAL_PORT=$(free_port)
export TEMPORAL_ADDRESS="http://127.0.0.1:$TEMPORAL_PORT"
log "starting an in-memory Temporal dev server on :$TEMPORAL_PORT"
bash "$ROOT/scripts/temporal-dev.sh" "$TEMPORAL_PORT" none >"$tmp/temporal.log" 2>&1 &
temporal_pid=$!
pids+=("$temporal_pid")
for var in API_BIND SANDBOX_MERCATELY_BIND SANDBOX_MERCADOPAGO_BIND SANDBOX_SMTP_BIND \
  SANDBOX_INBOX_BIND SANDBOX_GOOGLE_BIND SANDBOX_AFIP_BIND; do
  export "$var=127.0.0.1:$(free_port)"
done
export WORKER_METRICS_BIND=
# The sandbox's service account names the Google emulator's token endpoint at `make
# run`'s port; this stack's emulator listens on another, so the worker gets a copy of
# the key naming it (without, every confirmed visit's calendar sync retried against
# nothing, holding a worker slot each: at 100 the offers and payment links waited).
python3 - "$ROOT/sandbox/keys/service-account.json" "$tmp/google-key.json" \
  "http://$SANDBOX_GOOGLE_BIND/token" <<'PY'
import json, sys
key = json.load(open(sys.argv[1]))
key["token_uri"] = sys.argv[3]
json.dump(key, open(sys.argv[2], "w"))
PY
export GOOGLE_SERVICE_ACCOUNT_KEY_FILE="$tmp/google-key.json"
. "$ROOT/scripts/stack-env.sh"
# Many short requests from one address and one owner: no limits in the way.
export RATE_LIMIT_PER_MIN=0 RATE_LIMIT_AUTH_PER_MIN=0 RATE_LIMIT_OFFERS_PER_MIN=0 \
  RATE_LIMIT_CHECKOUT_PER_MIN=0 VET_MAX_OFFERS_PER_HOUR=0 RUST_LOG="${RUST_LOG:-warn}"
wait_for_port 127.0.0.1 "$TEMPORAL_PORT" 60 || { cat "$tmp/temporal.log"; die "Temporal did not start"; }

"$BIN/api" migrate >/dev/null
"$BIN/api" seed-demo >/dev/null
"$BIN/sandbox" >"$tmp/sandbox.log" 2>&1 &
sandbox_pid=$!
pids+=("$sandbox_pid")

# The worker, started again for each cache size of the waiting benchmark.
worker_pid=
start_worker() {
  WORKER_MAX_CACHED_WORKFLOWS="$1" "$BIN/worker" >>"$tmp/worker.log" 2>&1 &
  worker_pid=$!
  pids+=("$worker_pid")
}
stop_worker() {
  kill "$worker_pid" 2>/dev/null || true
  wait "$worker_pid" 2>/dev/null || true
}
start_worker 1000
"$BIN/api" serve >"$tmp/api.log" 2>&1 &
api_pid=$!
pids+=("$api_pid")
wait_for_port "${API_BIND%:*}" "${API_BIND##*:}" 60 || { cat "$tmp/api.log"; die "the API did not start"; }
wait_for_port "${SANDBOX_MERCATELY_BIND%:*}" "${SANDBOX_MERCATELY_BIND##*:}" 60 || die "the emulators did not start"

# Every process of the stack, so that a run can say where its CPU went.
pg_pid=$(as_postgres head -n 1 "$tmp/pg/postmaster.pid")
bench() {
  BENCH_WORKER_PID="$worker_pid" BENCH_API_PID="$api_pid" BENCH_PG_PID="$pg_pid" \
    BENCH_TEMPORAL_PID="$temporal_pid" BENCH_SANDBOX_PID="$sandbox_pid" "$BIN/bench" "$@"
}
failed() {
  tail -n 40 "$tmp/worker.log" "$tmp/api.log" >&2
  # A panic's message comes ahead of its backtrace, which the tail alone cuts off.
  grep -H -m 3 -A 4 "panicked at" "$tmp/worker.log" "$tmp/api.log" >&2 || true
  die "the $1 benchmark failed"
}
rm -f "$BENCH_OUT/results.jsonl"
for part in $BENCH_SUITE; do
  case "$part" in
    lifecycles)
      log "lifecycles: $N at each concurrency of $BENCH_CONCURRENCY, then the no-op twin"
      bench lifecycles || failed lifecycles
      ;;
    waiting)
      for cache in 1000 "$BENCH_TUNED_CACHE"; do
        stop_worker
        start_worker "$cache"
        log "waiting: $BENCH_WAITING requests left waiting for a vet, sticky cache $cache"
        BENCH_CACHE="$cache" bench waiting || failed waiting
      done
      ;;
    api)
      log "api: $BENCH_VETS vets, $BENCH_OWNERS owners and pets, $BENCH_REQUESTS requests; wrk at $BENCH_RATES req/s"
      bench generate || failed "data generator"
      bench api || failed api
      ;;
    *) die "unknown part $part in BENCH_SUITE" ;;
  esac
done
bench report
"$VENV/bin/python" "$ROOT/scripts/bench-plots.py" "$BENCH_OUT"
log "results, plots and query plans in $BENCH_OUT"
