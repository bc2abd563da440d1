#!/usr/bin/env bash
# The dashboard's browser test: starts the API on the embedded store (its in-process worker runs
# the jobs) on a free port with a scratch data folder, and drives the dashboard in Debian's
# headless Chromium with playwright-core (tests/Dashboard; no browser is downloaded). Twice: with
# authentication off, as start.sh runs it (the start page), and with it on and a key entered in the
# page (everything). Screenshots go to $DASHBOARD_SCREENSHOTS (default .ci-out/dashboard). Prints
# "dashboard: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prerequisites.sh

screenshots=$(realpath -m "${DASHBOARD_SCREENSHOTS:-.ci-out/dashboard}")
rm -rf "$screenshots"
mkdir -p "$screenshots"
(cd tests/Dashboard && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

# run_phase NAME [SETTING=VALUE...]: a service of its own with these settings, and the test's NAME phase against it.
run_phase() {
    local phase=$1
    shift
    (
        [ $# -eq 0 ] || export "$@"
        source scripts/embedded-service.sh
        start_embedded_service 127.0.0.1 || exit 1
        if ! BASE_URL="http://127.0.0.1:$port" SCREENSHOTS="$screenshots" PHASE="$phase" API_KEY="${Auth__BootstrapAdminKey:-}" \
            node tests/Dashboard/dashboard.test.mjs; then
            echo "--- service log"; tail -40 "$work/service.log"
            exit 1
        fi
    )
}

failed=0
run_phase open || failed=$((failed + 1))
run_phase full Auth__Enabled=true Auth__BootstrapAdminKey="tsk_$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
    || failed=$((failed + 1))
echo "dashboard: $((2 - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
