#!/usr/bin/env bash
# A scratch PostgreSQL 15 for checking expected outputs against the real server.
#
#   tests/pgref/pg.sh start   # initdb (once) + start; prints the DSN on stdout
#   tests/pgref/pg.sh dsn     # prints the DSN of the running server (exit 1 when stopped)
#   tests/pgref/pg.sh stop    # stops it (the data directory is kept)
#   tests/pgref/pg.sh wipe    # stops it and removes the data directory
#
# The cluster lives in $PGREF_DIR (default /tmp/vecgres-pgref), listens only on
# 127.0.0.1 at a free port (never 5432/5433, which other tools on this machine
# may use) and trusts local connections: it is a throwaway oracle, not a server.
# initdb refuses to run as root, so everything runs as the `postgres` OS user.
#
# Typical use:
#   DSN=$(tests/pgref/pg.sh start)
#   VECGRES_SLT_BACKEND=postgres VECGRES_SLT_DSN="$DSN" .venv/bin/pytest sqllogictest
#   tests/pgref/pg.sh stop
set -euo pipefail

PGREF_DIR=${PGREF_DIR:-/tmp/vecgres-pgref}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
DATA="$PGREF_DIR/data"
PORTFILE="$PGREF_DIR/port"
LOG="$PGREF_DIR/server.log"

as_postgres() {
    if [ "$(id -un)" = postgres ]; then
        "$@"
    else
        runuser -u postgres -- "$@"
    fi
}

free_port() {
    # Ask the kernel for a free port, skipping the ones other servers here use.
    python3 - <<'EOF'
import socket
while True:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    if port not in (5432, 5433):
        print(port)
        break
EOF
}

is_running() {
    [ -f "$DATA/postmaster.pid" ] && as_postgres "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

dsn() {
    # only a running server has a DSN: callers use the exit status to decide
    if ! is_running || [ ! -s "$PORTFILE" ]; then
        echo "pgref: not running (tests/pgref/pg.sh start)" >&2
        return 1
    fi
    echo "host=127.0.0.1 port=$(cat "$PORTFILE") user=postgres dbname=postgres"
}

cmd_start() {
    mkdir -p "$PGREF_DIR"
    chmod 755 "$PGREF_DIR"
    chown postgres: "$PGREF_DIR" 2>/dev/null || true
    if [ ! -f "$DATA/PG_VERSION" ]; then
        # UTF8 + C collation: byte-order string sorting, the same on every machine.
        as_postgres "$PGBIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C >/dev/null
    fi
    if is_running; then
        dsn
        return
    fi
    local port
    port=$(free_port)
    echo "$port" >"$PORTFILE"
    # TimeZone=UTC and DateStyle ISO keep timestamptz/date output fixed; vecgres defaults to the same.
    as_postgres "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w \
        -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='$PGREF_DIR' \
            -c TimeZone=UTC -c DateStyle='ISO, MDY' -c fsync=off" start >/dev/null
    dsn
}

cmd_stop() {
    if is_running; then
        as_postgres "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
    fi
}

case "${1:-}" in
start) cmd_start ;;
dsn) dsn ;;
stop) cmd_stop ;;
wipe)
    cmd_stop
    rm -rf "$PGREF_DIR"
    ;;
*)
    echo "usage: $0 start|dsn|stop|wipe" >&2
    exit 2
    ;;
esac
