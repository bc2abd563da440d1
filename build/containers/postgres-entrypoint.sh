#!/bin/bash
# Entry point of the local PostgreSQL image (build/containers/postgres.Containerfile): initializes
# $PGDATA on first start with the official image's variables, then runs the server listening on
# every address with password (SCRAM) authentication from the network.
set -euo pipefail
if [ "${1:0:1}" = "-" ]; then set -- postgres "$@"; fi
if [ "$1" = "postgres" ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
    user=${POSTGRES_USER:-postgres}
    database=${POSTGRES_DB:-$user}
    password_file=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$password_file"
    initdb --username="$user" --pwfile="$password_file" --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA" >/dev/null
    rm -f "$password_file"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    if [ "$database" != "postgres" ]; then
        pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
        psql -v ON_ERROR_STOP=1 --username="$user" --dbname=postgres -q \
            -c "CREATE DATABASE \"$database\"" >/dev/null
        pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    fi
    echo "PostgreSQL init process complete; ready for start up."
fi
if [ "$1" = "postgres" ]; then
    shift
    exec postgres -c listen_addresses='*' "$@"
fi
exec "$@"
