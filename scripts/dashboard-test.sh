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

work=$(mktemp -d)
for _ in $(seq 1 50); do
    port=$(shuf -i 20000-60000 -n 1)
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
done
mnist=${Mnist__DataDirectory:-$(realpath ../shared/mnist)}

dotnet build -c Release src/Api -v quiet -nologo -clp:ErrorsOnly
Storage__SqlitePath="$work/trainingservice.db" Checkpoints__Root="$work/checkpoints" \
    Mnist__DataDirectory="$mnist" Mnist__Download=false ASPNETCORE_ENVIRONMENT=Production \
    dotnet src/Api/bin/Release/net10.0/TrainingService.Api.dll --urls "http://127.0.0.1:$port" > "$work/service.log" 2>&1 &
service=$!
trap 'kill $service 2>/dev/null; wait $service 2>/dev/null; rm -rf "$work"' EXIT

for _ in $(seq 1 120); do
    curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break
    kill -0 $service 2>/dev/null || { cat "$work/service.log"; echo "dashboard: 0 passed, 1 failed"; exit 1; }
    sleep 0.5
done

if BASE_URL="http://127.0.0.1:$port" SCREENSHOTS="$screenshots" node tests/Dashboard/dashboard.test.mjs; then
    echo "dashboard: 1 passed, 0 failed"
else
    echo "--- service log"; tail -40 "$work/service.log"
    echo "dashboard: 0 passed, 1 failed"
    exit 1
fi
