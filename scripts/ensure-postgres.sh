#!/usr/bin/env bash
# Makes sure the PostgreSQL + PostGIS that DATABASE_URL names is up: uses it as it is when
# it answers; otherwise installs what is missing from Debian's packages, starts the
# local cluster, and creates the role, the database and the postgis extension.
# Idempotent: running it again changes nothing.
. "$(dirname "$0")/common.sh"

url_part() { python3 -c "import sys,urllib.parse as u; p=u.urlparse(sys.argv[1]); print({'user':p.username or '','password':p.password or '','host':p.hostname or '127.0.0.1','port':p.port or 5432,'db':p.path.lstrip('/')}[sys.argv[2]])" "$DATABASE_URL" "$1"; }
PGUSER_=$(url_part user); PGPASS_=$(url_part password); PGHOST_=$(url_part host)
PGPORT_=$(url_part port); PGDB_=$(url_part db)

answers() { command -v psql >/dev/null && psql "$DATABASE_URL" -Atqc 'SELECT 1' >/dev/null 2>&1; }
has_postgis() {
  [ "$(psql "$DATABASE_URL" -Atqc "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'" 2>/dev/null)" = 1 ]
}

if answers && has_postgis; then
  psql "$DATABASE_URL" -qc 'CREATE EXTENSION IF NOT EXISTS postgis' >/dev/null 2>&1 || true
  log "PostgreSQL at $PGHOST_:$PGPORT_/$PGDB_ is up"
  exit 0
fi

case "$PGHOST_" in
  127.0.0.1|localhost|::1) ;;
  *) die "DATABASE_URL points at $PGHOST_, which does not answer (or lacks PostGIS); start it or unset DATABASE_URL" ;;
esac

packages=(postgresql-$PG_MAJOR postgresql-$PG_MAJOR-postgis-3 postgresql-client-$PG_MAJOR)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} from Debian's packages"
  as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
fi

if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "$PG_MAJOR main"; then
  log "creating the PostgreSQL $PG_MAJOR cluster"
  as_root pg_createcluster "$PG_MAJOR" main --port "$PGPORT_" >/dev/null
fi
cluster_port=$(pg_lsclusters -h | awk -v v="$PG_MAJOR" '$1==v && $2=="main" {print $3}')
[ "$cluster_port" = "$PGPORT_" ] || die "the local cluster listens on $cluster_port but DATABASE_URL says $PGPORT_"
if ! pg_lsclusters -h | awk -v v="$PG_MAJOR" '$1==v && $2=="main" {print $4}' | grep -q online; then
  # After a crash PostgreSQL first replays its log and syncs its files, which can take
  # minutes on a big data directory: wait up to 15 minutes (pg_ctl's own limit is 60 s),
  # sync with one syncfs per file system rather than one fsync per file, and say so.
  log "starting PostgreSQL $PG_MAJOR (after an unclean stop it first checks its files: this can take minutes)"
  as_root pg_ctlcluster "$PG_MAJOR" main start -- -t 900 -o "-c recovery_init_sync_method=syncfs" ||
    die "PostgreSQL did not start; see /var/log/postgresql/postgresql-$PG_MAJOR-main.log"
fi
for _ in $(seq 1 50); do
  as_postgres psql -p "$PGPORT_" -Atqc 'SELECT 1' >/dev/null 2>&1 && break
  sleep 0.2
done

# The local role is a superuser so that tests can create databases and extensions.
as_postgres psql -p "$PGPORT_" -v ON_ERROR_STOP=1 -q <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PGUSER_') THEN
    CREATE ROLE "$PGUSER_" LOGIN SUPERUSER PASSWORD '$PGPASS_';
  END IF;
END \$\$;
SQL
if [ "$(as_postgres psql -p "$PGPORT_" -Atqc "SELECT count(*) FROM pg_database WHERE datname = '$PGDB_'")" = 0 ]; then
  as_postgres psql -p "$PGPORT_" -qc "CREATE DATABASE \"$PGDB_\" OWNER \"$PGUSER_\""
fi
psql "$DATABASE_URL" -qc 'CREATE EXTENSION IF NOT EXISTS postgis' >/dev/null
answers || die "PostgreSQL still does not answer at $DATABASE_URL"
log "PostgreSQL $PG_MAJOR + PostGIS ready at $PGHOST_:$PGPORT_/$PGDB_"
