#!/usr/bin/env bash
# Builds everything and runs every test — the .NET test projects, then the dashboard's browser test
# (scripts/dashboard-test.sh) — then prints one line: "N passed, N failed[, N skipped]".
# Tests read the real MNIST files from ../shared/mnist (or $TRAININGSERVICE_TEST_MNIST). The job
# store's PostgreSQL tests use the server in $TRAININGSERVICE_TEST_POSTGRES, or else a throwaway one
# this script starts (scripts/postgres.sh) in a temporary folder and stops and removes at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/prerequisites.sh --tests || exit 1

log=$(mktemp)
pg_dir=""
cleanup() {
    rm -f "$log"
    if [ -n "$pg_dir" ]; then
        bash scripts/postgres.sh stop "$pg_dir" >/dev/null 2>&1 || true # quiet: the summary stays last
        rm -rf "$pg_dir"
    fi
}
trap cleanup EXIT

if [ -z "${TRAININGSERVICE_TEST_POSTGRES:-}" ]; then
    pg_dir=$(mktemp -d /tmp/trainingservice-pg-test.XXXXXX)
    if pg_env=$(bash scripts/postgres.sh start "$pg_dir"); then
        eval "$pg_env"
    else
        echo "test.sh: could not start PostgreSQL; its tests will fail" >&2
    fi
fi
dotnet test TrainingService.sln -c Release -nologo 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
bash scripts/dashboard-test.sh 2>&1 | tee -a "$log"
dashboard_status=${PIPESTATUS[0]}

# Sum the per-assembly summaries ("Passed!  - Failed: 0, Passed: 173, Skipped: 0, Total: 173, ...").
read -r passed failed skipped < <(grep -E '(Passed|Failed)! +- Failed: ' "$log" | awk -F'[:,]' '
    { failed += $2; passed += $4; skipped += $6 }
    END { printf "%d %d %d\n", passed, failed, skipped }')
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    failed=1 # the build or the test host failed before any test could report
fi
# The dashboard test reports "dashboard: N passed, N failed"; a crash before that counts as a failure.
read -r dashboard_passed dashboard_failed < <(grep -E '^dashboard: [0-9]+ passed, [0-9]+ failed' "$log" | tail -1 | awk '{ print $2, $4 }')
if [ -z "${dashboard_passed:-}" ]; then dashboard_passed=0; dashboard_failed=1; fi
[ "$dashboard_status" -ne 0 ] && [ "$dashboard_failed" -eq 0 ] && dashboard_failed=1
passed=$((passed + dashboard_passed))
failed=$((failed + dashboard_failed))
[ "$dashboard_status" -ne 0 ] && [ "$status" -eq 0 ] && status=$dashboard_status
summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
exit "$status"
