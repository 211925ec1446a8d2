#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer at DATABASE_URL and REDIS_URL.
#
# Servers already reachable there are reused. Otherwise the Debian packages are installed when
# missing and project-local instances are started under .run/ (never system-wide services), so
# `make run` and `make test` work on a fresh machine and a second run just finds them up.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="$ROOT/.run"
mkdir -p "$RUN_DIR"

DATABASE_URL="${DATABASE_URL:-postgres://gateway:gateway@127.0.0.1:25432/gateway}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:26379/0}"

log() { echo "[services] $*"; }

parse_url() {  # prints: host port user password dbname
  python3 - "$1" <<'PY'
import sys
from urllib.parse import urlparse, unquote
u = urlparse(sys.argv[1])
default_port = 6379 if u.scheme.startswith("redis") else 5432
print(u.hostname or "127.0.0.1", u.port or default_port, unquote(u.username or ""),
      unquote(u.password or ""), (u.path or "/").lstrip("/") or "0")
PY
}

apt_install() {
  if [ "$(id -u)" != "0" ]; then
    log "missing $*: install it (sudo apt-get install -y $*) and run again"; exit 1
  fi
  log "installing Debian packages: $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

tcp_open() {  # host port
  python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(1)
try:
    s.connect((sys.argv[1], int(sys.argv[2]))); sys.exit(0)
except OSError:
    sys.exit(1)
PY
}

# ---------------------------------------------------------------- Redis
read -r R_HOST R_PORT _ _ _ < <(parse_url "$REDIS_URL")
if tcp_open "$R_HOST" "$R_PORT"; then
  log "redis reachable at $R_HOST:$R_PORT"
else
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p "$RUN_DIR/redis"
  log "starting project-local redis on $R_HOST:$R_PORT"
  # appendonly: a restart keeps queued tasks; noeviction: the broker never drops a task for memory.
  redis-server --bind "$R_HOST" --port "$R_PORT" --dir "$RUN_DIR/redis" --daemonize yes \
    --pidfile "$RUN_DIR/redis/redis.pid" --logfile "$RUN_DIR/redis/redis.log" \
    --appendonly yes --appendfsync everysec --maxmemory-policy noeviction --save ""
  for _ in $(seq 1 50); do tcp_open "$R_HOST" "$R_PORT" && break; sleep 0.1; done
  tcp_open "$R_HOST" "$R_PORT" || { log "redis did not start: see $RUN_DIR/redis/redis.log"; exit 1; }
fi

# ---------------------------------------------------------------- PostgreSQL
read -r P_HOST P_PORT P_USER P_PASS P_DB < <(parse_url "$DATABASE_URL")
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

# A server that already answers may not hold our database yet (a shared server, a new name in
# DATABASE_URL): create it with the configured role, which needs CREATEDB, as `make test` does.
ensure_database() {
  local py="$ROOT/.venv/bin/python"
  [ -x "$py" ] || return 0
  "$py" - "$DATABASE_URL" <<'PY'
import sys
from urllib.parse import urlparse, unquote
import psycopg
from psycopg import sql
u = urlparse(sys.argv[1])
name = unquote((u.path or "/").lstrip("/"))
params = dict(host=u.hostname or "127.0.0.1", port=u.port or 5432, user=unquote(u.username or ""),
              password=unquote(u.password or ""), dbname="postgres", connect_timeout=5, autocommit=True)
with psycopg.connect(**params) as conn:
    if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        print(f"[services] created database {name}")
PY
}

if tcp_open "$P_HOST" "$P_PORT"; then
  log "postgresql reachable at $P_HOST:$P_PORT"
  ensure_database
  exit 0
fi

[ -n "$(pg_bin)" ] || apt_install postgresql
PG_BIN="$(pg_bin)"

as_pg() { "$@"; }
PG_DATA="$RUN_DIR/pgdata"
if [ "$(id -u)" = "0" ]; then
  # PostgreSQL refuses to run as root: run it as the `postgres` account the package created.
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/false postgres
  as_pg() { runuser -u postgres -- "$@"; }
  if ! runuser -u postgres -- test -x "$RUN_DIR"; then
    # The checkout sits where `postgres` cannot reach (e.g. under /root): keep the cluster in a
    # directory named after the checkout instead.
    PG_DATA="/var/tmp/omnichannel-gateway/$(echo -n "$ROOT" | md5sum | cut -c1-12)/pgdata"
  fi
  mkdir -p "$(dirname "$PG_DATA")"
  chown postgres "$(dirname "$PG_DATA")"
fi

if [ ! -s "$PG_DATA/PG_VERSION" ]; then
  log "initialising a project-local cluster in $PG_DATA"
  as_pg mkdir -p "$PG_DATA"
  as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  # Statement statistics for the benchmark report (bench/pgstatements.py); loading the library
  # needs a server start, so new clusters get it from the beginning.
  echo "shared_preload_libraries = 'pg_stat_statements'" | as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null
fi

# Bulk accepts write tens of thousands of rows per request: with the default 1 GB of WAL between
# checkpoints a 100,000-destination sendbulk forced a checkpoint mid-statement, after which every
# first change to a page logs the whole page again. More WAL between checkpoints and compressed
# full-page images cut that; synchronous_commit stays on (an acknowledged message is on disk).
PG_WRITE_SETTINGS="-c max_wal_size=8GB -c min_wal_size=1GB -c checkpoint_timeout=15min -c wal_compression=lz4 -c shared_preload_libraries=pg_stat_statements"
log "starting project-local postgresql on $P_HOST:$P_PORT"
as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 60 start \
  -o "-c listen_addresses=$P_HOST -p $P_PORT -k $PG_DATA -c max_connections=300 -c shared_buffers=256MB $PG_WRITE_SETTINGS" >/dev/null

psql_admin() { "$PG_BIN/psql" -h "$P_HOST" -p "$P_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
if [ "$(psql_admin -d postgres -c "SELECT 1 FROM pg_roles WHERE rolname = '$P_USER'")" != "1" ]; then
  psql_admin -d postgres -c "CREATE ROLE \"$P_USER\" LOGIN CREATEDB PASSWORD '$P_PASS'"
fi
# The extension in template1 reaches every database created later (the benchmark recreates its
# own each run); the role may reset the statistics, which is superuser-only by default.
if [ "$(psql_admin -d postgres -c "SHOW shared_preload_libraries")" = "pg_stat_statements" ]; then
  psql_admin -d template1 -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
  psql_admin -d template1 -c "GRANT EXECUTE ON FUNCTION pg_stat_statements_reset TO \"$P_USER\""
fi
if [ "$(psql_admin -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$P_DB'")" != "1" ]; then
  psql_admin -d postgres -c "CREATE DATABASE \"$P_DB\" OWNER \"$P_USER\""
fi
log "postgresql ready"
