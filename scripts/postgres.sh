#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, from Debian's postgresql binaries (installed with
# apt-get when missing), in a folder of its own, listening on 127.0.0.1 only, on a free port from
# 55432 up, with password authentication for the superuser "trainingservice". Built for speed, not
# durability (fsync off): never put data you want to keep in it.
#
#   scripts/postgres.sh start   [DIR]  # init (first time) and start; idempotent
#   scripts/postgres.sh stop    [DIR]  # fast shutdown
#   scripts/postgres.sh restart [DIR]  # fast shutdown and start again on the same port
#   scripts/postgres.sh status  [DIR]  # exit 0 when running
#
# start and restart print one line for eval, e.g.
#   export TRAININGSERVICE_TEST_POSTGRES='Host=127.0.0.1;Port=55432;Username=trainingservice;Password=...;Database=postgres'
# DIR defaults to /tmp/trainingservice-pg. As root, the server runs as the "postgres" user (initdb
# refuses root), so DIR and every folder above it must be searchable by that user.
set -euo pipefail

command=${1:-}
dir=${2:-/tmp/trainingservice-pg}
user=trainingservice
first_port=55432

usage() {
    echo "usage: $0 start|stop|restart|status [DIR]" >&2
    exit 2
}
log() { echo "postgres.sh: $*" >&2; }

case "$command" in start|stop|restart|status) ;; *) usage ;; esac

find_bin() {
    local candidate
    # The newest installed major version.
    candidate=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$candidate" ] && [ -x "$candidate/initdb" ]; then
        echo "$candidate"
        return 0
    fi
    return 1
}

if ! bin=$(find_bin); then
    if [ "$command" != start ]; then
        log "PostgreSQL is not installed."
        exit 1
    fi
    if ! command -v apt-get >/dev/null; then
        log "PostgreSQL's server binaries are missing (/usr/lib/postgresql/*/bin); please install PostgreSQL."
        exit 1
    fi
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    log "installing postgresql with apt-get..."
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
    bin=$(find_bin) || { log "postgresql installed, but no /usr/lib/postgresql/*/bin/initdb"; exit 1; }
fi

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data="$dir/data"
port_file="$dir/port"
password_file="$dir/password"
server_log="$dir/server.log"

# The server must not run as root: run its binaries as the postgres user then.
as_server=()
if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        log "running as root, but there is no 'postgres' user to run the server as."
        exit 1
    fi
    as_server=(runuser -u postgres --)
    chown postgres: "$dir"
fi
run() { "${as_server[@]}" "$@"; }

# One caller at a time per folder (two test runs starting the same server).
exec 9>"$dir/.lock"
flock 9

is_running() { [ -f "$data/PG_VERSION" ] && run "$bin/pg_ctl" status -D "$data" >/dev/null 2>&1; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

print_env() {
    printf "export TRAININGSERVICE_TEST_POSTGRES='Host=127.0.0.1;Port=%s;Username=%s;Password=%s;Database=postgres'\n" \
        "$(cat "$port_file")" "$user" "$(cat "$password_file")"
}

init_cluster() {
    log "initialising a cluster in $data ($bin)"
    rm -rf "$data"
    umask 077
    head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$password_file"
    umask 022
    [ ${#as_server[@]} -eq 0 ] || chown postgres: "$password_file"
    run "$bin/initdb" -D "$data" -U "$user" --pwfile="$password_file" --auth=scram-sha-256 \
        -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    # Throwaway and fast: TCP on loopback only, no Unix socket, no fsync. Enough connections for
    # the tests and for a benchmark's 200 concurrent requests.
    cat >>"$data/postgresql.conf" <<EOF

# scripts/postgres.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
EOF
}

start_server() {
    local port attempt
    port=$(cat "$port_file" 2>/dev/null || echo "$first_port")
    for attempt in $(seq 1 50); do
        if port_in_use "$port"; then
            port=$((port + 1))
            continue
        fi
        # 9>&-: the server must not inherit (and hold forever) the lock on the folder.
        if run "$bin/pg_ctl" start -D "$data" -l "$server_log" -w -t 60 -o "-p $port" >/dev/null 2>&1 9>&-; then
            echo "$port" >"$port_file"
            log "running on 127.0.0.1:$port (data in $data)"
            return 0
        fi
        # Taken between the check and the start, or a real failure: tell them apart by the log.
        if tail -n 20 "$server_log" 2>/dev/null | grep -q "could not bind\|Address already in use"; then
            port=$((port + 1))
            continue
        fi
        log "the server did not start; the end of $server_log:"
        tail -n 20 "$server_log" >&2 || true
        exit 1
    done
    log "no free port from $first_port up"
    exit 1
}

case "$command" in
    start)
        if is_running; then
            print_env
            exit 0
        fi
        [ -f "$data/PG_VERSION" ] && [ -f "$password_file" ] || init_cluster
        start_server
        print_env
        ;;
    stop)
        if is_running; then
            run "$bin/pg_ctl" stop -D "$data" -m fast -w >/dev/null
            log "stopped"
        fi
        ;;
    restart)
        [ -f "$data/PG_VERSION" ] || { log "no cluster in $data; use start"; exit 1; }
        if is_running; then
            run "$bin/pg_ctl" stop -D "$data" -m fast -w >/dev/null
        fi
        start_server
        print_env
        ;;
    status)
        is_running
        ;;
esac
