#!/usr/bin/env bash
# The dashboard's browser test: starts the API on the embedded store (its in-process worker runs
# the jobs) on a free port with a scratch data folder, and drives the dashboard in Debian's
# headless Chromium with playwright-core (tests/Dashboard; no browser is downloaded). Screenshots
# go to $DASHBOARD_SCREENSHOTS (default .ci-out/dashboard). Prints "dashboard: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prerequisites.sh

screenshots=$(realpath -m "${DASHBOARD_SCREENSHOTS:-.ci-out/dashboard}")
rm -rf "$screenshots"
mkdir -p "$screenshots"
(cd tests/Dashboard && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

source scripts/embedded-service.sh
start_embedded_service 127.0.0.1 || { echo "dashboard: 0 passed, 1 failed"; exit 1; }

if BASE_URL="http://127.0.0.1:$port" SCREENSHOTS="$screenshots" node tests/Dashboard/dashboard.test.mjs; then
    echo "dashboard: 1 passed, 0 failed"
else
    echo "--- service log"; tail -40 "$work/service.log"
    echo "dashboard: 0 passed, 1 failed"
    exit 1
fi
