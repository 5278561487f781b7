#!/usr/bin/env bash
# A private, throwaway PostgreSQL server for running the test suite (not for production).
#
#   scripts/postgres.sh start    install PostgreSQL if needed, create and start the server,
#                                ensure the role and database; prints DATABASE_URL=... last
#   scripts/postgres.sh stop     stop the server (the data stays for the next start)
#   scripts/postgres.sh status   exit 0 when the server is running
#   scripts/postgres.sh url      print the DATABASE_URL
#   scripts/postgres.sh env      print `export DATABASE_URL=...` (eval "$(... env)")
#   scripts/postgres.sh destroy  stop the server and delete its directory
#
# The server listens on 127.0.0.1:$YIWANG_PG_PORT (default 54329), keeps its unix socket
# in its own directory and stores everything under $YIWANG_PG_DIR (default
# /tmp/yiwang-pg-<user>). PostgreSQL refuses to run as root, so as root the server runs
# as the `postgres` system user (or a `yiwang-pg` user created for it). Durability is off
# (fsync=off): this server exists to be thrown away.
set -euo pipefail

PG_PORT="${YIWANG_PG_PORT:-54329}"
PG_DIR="${YIWANG_PG_DIR:-/tmp/yiwang-pg-$(id -un)}"
DB_NAME="yiwang"
DB_USER="yiwang"
MIN_VERSION=15

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

case "$PG_DIR" in
    /*) ;;
    *) PG_DIR="$PWD/$PG_DIR" ;;
esac
DATA="$PG_DIR/data"
RUN="$PG_DIR/run"
LOGDIR="$PG_DIR/log"
PWFILE="$PG_DIR/password"
MARKER="$PG_DIR/.yiwang-pg"

is_root() { [ "$(id -u)" -eq 0 ]; }

# Run a command as root: directly, or through passwordless sudo.
as_root() {
    if is_root; then
        "$@"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo -n "$@"
    else
        die "need root (or passwordless sudo) to run: $*"
    fi
}

find_bindir() {
    if [ -n "${YIWANG_PG_BINDIR:-}" ]; then
        echo "$YIWANG_PG_BINDIR"
        return 0
    fi
    local dir version best="" best_version=0
    for dir in /usr/lib/postgresql/*/bin; do
        [ -x "$dir/postgres" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] || continue
        version="$(basename "$(dirname "$dir")")"
        [[ "$version" =~ ^[0-9]+$ ]] || continue
        if [ "$version" -ge "$MIN_VERSION" ] && [ "$version" -gt "$best_version" ]; then
            best="$dir"
            best_version="$version"
        fi
    done
    [ -n "$best" ] && echo "$best"
}

install_postgres() {
    command -v apt-get >/dev/null 2>&1 \
        || die "no PostgreSQL >= $MIN_VERSION server found and no apt-get to install one"
    log "no PostgreSQL >= $MIN_VERSION server found; installing Debian's postgresql package"
    # Keep the package from starting its own `main` cluster on port 5432: we only want the
    # binaries. A policy-rc.d that we put in place is removed again afterwards.
    local policy=/usr/sbin/policy-rc.d added_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
        as_root chmod 755 "$policy"
        added_policy=1
    fi
    local status=0
    {
        as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get -o DPkg::Lock::Timeout=600 update -q \
        && as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
            postgresql </dev/null
    } || status=$?
    if [ "$added_policy" -eq 1 ]; then
        as_root rm -f "$policy"
    fi
    [ "$status" -eq 0 ] || die "apt-get install postgresql failed (exit $status)"
}

BINDIR=""
ensure_binaries() {
    BINDIR="$(find_bindir || true)"
    if [ -z "$BINDIR" ]; then
        install_postgres
        BINDIR="$(find_bindir || true)"
        [ -n "$BINDIR" ] || die "installed postgresql but found no server >= $MIN_VERSION" \
            "in /usr/lib/postgresql/*/bin (set YIWANG_PG_BINDIR)"
    fi
}

# The operating-system user the server runs as.
PG_OS_USER=""
ensure_os_user() {
    if ! is_root; then
        PG_OS_USER="$(id -un)"
    elif id -u postgres >/dev/null 2>&1; then
        PG_OS_USER="postgres"
    else
        if ! id -u yiwang-pg >/dev/null 2>&1; then
            log "creating system user yiwang-pg to run PostgreSQL"
            useradd --system --user-group --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin yiwang-pg
        fi
        PG_OS_USER="yiwang-pg"
    fi
}

# Run a PostgreSQL program as the server's user, from a directory that user can enter.
as_pg() {
    local program="$1"
    shift
    if is_root; then
        (cd "$PG_DIR" && runuser -u "$PG_OS_USER" -- "$BINDIR/$program" "$@")
    else
        (cd "$PG_DIR" && "$BINDIR/$program" "$@")
    fi
}

pg_write_file() {
    if is_root; then
        runuser -u "$PG_OS_USER" -- tee "$1" >/dev/null
    else
        cat >"$1"
    fi
}

is_running() {
    [ -f "$DATA/PG_VERSION" ] || return 1
    as_pg pg_ctl -D "$DATA" status >/dev/null 2>&1
}

psql_admin() {
    as_pg psql -X -q -v ON_ERROR_STOP=1 -h "$RUN" -p "$PG_PORT" -U postgres -d postgres "$@"
}

new_password() {
    od -An -tx1 -N16 /dev/urandom | tr -d ' \n'
}

init_cluster() {
    log "creating a new cluster in $DATA"
    mkdir -p "$PG_DIR"
    chmod 755 "$PG_DIR"
    : >"$MARKER"
    if [ ! -s "$PWFILE" ]; then
        (umask 077 && new_password >"$PWFILE")
    fi
    rm -rf "$DATA"
    mkdir -p "$DATA" "$RUN" "$LOGDIR"
    chmod 700 "$DATA" "$RUN"
    if is_root; then
        chown "$PG_OS_USER": "$DATA" "$RUN" "$LOGDIR"
    fi
    local locale_args=(--no-locale)
    if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
        locale_args=(--locale=C.UTF-8)
    fi
    # Local socket connections are trusted (the socket directory is private to the server's
    # user); TCP connections need the role's password.
    as_pg initdb -D "$DATA" -U postgres -E UTF8 "${locale_args[@]}" \
        --auth-local=trust --auth-host=scram-sha-256 >"$LOGDIR/initdb.log" 2>&1 \
        || { cat "$LOGDIR/initdb.log" >&2; die "initdb failed"; }
    printf "\ninclude_if_exists = 'yiwang.conf'\n" >>"$DATA/postgresql.conf"
}

write_config() {
    pg_write_file "$DATA/yiwang.conf" <<CONF
# Written by scripts/postgres.sh on every start.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$RUN'
max_connections = 100
# A throwaway test server: speed over durability.
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
}

ensure_role_and_database() {
    local password
    password="$(cat "$PWFILE")"
    psql_admin -v role="$DB_USER" -v pw="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB', :'role')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" LOGIN CREATEDB PASSWORD :'pw';
SQL
    psql_admin -v db="$DB_NAME" -v role="$DB_USER" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SQL
}

database_url() {
    [ -s "$PWFILE" ] || die "no server set up in $PG_DIR; run: $0 start"
    echo "postgres://$DB_USER:$(cat "$PWFILE")@127.0.0.1:$PG_PORT/$DB_NAME"
}

cmd_start() {
    ensure_binaries
    ensure_os_user
    if [ ! -f "$DATA/PG_VERSION" ] || [ ! -s "$PWFILE" ]; then
        init_cluster
    fi
    if is_running; then
        log "already running ($DATA)"
    else
        write_config
        log "starting PostgreSQL ($("$BINDIR/postgres" --version)) on 127.0.0.1:$PG_PORT"
        if ! as_pg pg_ctl -D "$DATA" -l "$LOGDIR/postgresql.log" -w -t 60 start >/dev/null; then
            tail -n 30 "$LOGDIR/postgresql.log" >&2 || true
            die "the server did not start (is port $PG_PORT taken? set YIWANG_PG_PORT)"
        fi
    fi
    ensure_role_and_database
    echo "DATABASE_URL=$(database_url)"
}

cmd_stop() {
    if [ ! -f "$DATA/PG_VERSION" ]; then
        log "no server in $PG_DIR"
        return 0
    fi
    ensure_binaries
    ensure_os_user
    if is_running; then
        as_pg pg_ctl -D "$DATA" -m fast -w -t 60 stop >/dev/null
        log "stopped"
    else
        log "not running"
    fi
}

cmd_status() {
    if [ ! -f "$DATA/PG_VERSION" ]; then
        log "no server in $PG_DIR"
        return 3
    fi
    BINDIR="$(find_bindir || true)"
    [ -n "$BINDIR" ] || die "no PostgreSQL server binaries found"
    ensure_os_user
    if is_running; then
        log "running on 127.0.0.1:$PG_PORT ($DATA)"
    else
        log "not running ($DATA)"
        return 3
    fi
}

cmd_destroy() {
    cmd_stop
    if [ -d "$PG_DIR" ]; then
        [ -e "$MARKER" ] || die "$PG_DIR was not created by this script; not deleting it"
        rm -rf "$PG_DIR"
        log "deleted $PG_DIR"
    fi
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    url) database_url ;;
    env) echo "export DATABASE_URL=$(database_url)" ;;
    destroy) cmd_destroy ;;
    *)
        echo "usage: $0 start|stop|status|url|env|destroy" >&2
        exit 2
        ;;
esac
