#!/usr/bin/env bash
# Starts `temporal server start-dev` in the foreground with our search attributes.
# Usage: temporal-dev.sh <grpc port> <ui port|none> [<sqlite file>]
. "$(dirname "$0")/common.sh"
port=$1 ui=$2 dbfile=${3:-}
args=(server start-dev --ip 127.0.0.1 --port "$port" --log-level warn --log-format pretty)
if [ "$ui" = none ]; then args+=(--headless); else args+=(--ui-port "$ui"); fi
[ -n "$dbfile" ] && args+=(--db-filename "$dbfile")
while read -r attr; do [ -n "$attr" ] && args+=(--search-attribute "$attr"); done < "$ROOT/scripts/search-attributes.txt"
exec "$VENV/bin/temporal" "${args[@]}"
