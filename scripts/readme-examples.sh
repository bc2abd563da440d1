#!/usr/bin/env bash
# Runs every curl example of the README's "Using the service" section against a real service:
# the API on the embedded store, started here on a free port with a scratch data folder. Each
# example must succeed (curl -f fails on HTTP errors; set -e stops at the first failure).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prerequisites.sh

source scripts/embedded-service.sh
start_embedded_service localhost || { echo "README examples: 0 passed, 1 failed"; exit 1; }

# The examples are the ```sh blocks between the two markers, run in order in one shell so that
# variables (JOB=...) carry from one to the next; the README's port 8080 becomes ours.
awk '/<!-- curl-examples:start -->/{on=1; next} /<!-- curl-examples:end -->/{on=0} on && /^```sh/{block=1; next} on && /^```/{block=0; next} block' README.md \
    | sed "s#localhost:8080#localhost:$port#g" > "$work/examples.sh"
count=$(grep -c '^curl\|^JOB=\|^EVAL=' "$work/examples.sh" || true)
echo "running $count README examples against http://localhost:$port"
if ! (cd "$work" && bash -euo pipefail -x examples.sh > examples.out 2>&1); then
    cat "$work/examples.out"; echo "--- service log"; tail -50 "$work/service.log"
    echo "README examples: 0 passed, 1 failed"
    exit 1
fi
echo "README examples: all $count passed"
