#!/usr/bin/env bash
# Runs the search study of docs/sweeps.md on a running service and prints its tables as Markdown:
# each sweep request in docs/search/ (or the files given) is posted to POST /sweeps, one at a time
# so that wall times do not overlap, waited for, and summarised from GET /sweeps/{id}: the best test
# accuracy any trial reached, the epochs all trials spent, and each trial's values, epochs, best
# accuracy and where the search stopped it.
#   JobsApi__SweepSchedulerInterval=00:00:00.5 ./scripts/start.sh &
#   BASE_URL=http://localhost:8080 ./scripts/search-study.sh > study.md
set -euo pipefail
cd "$(dirname "$0")/.."
base_url=${BASE_URL:-http://localhost:8080}
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(docs/search/convnet-grid.json docs/search/convnet-asha.json docs/search/attention-grid.json docs/search/attention-asha.json)

auth=()
[ -n "${API_KEY:-}" ] && auth=(-H "Authorization: Bearer $API_KEY")

echo "| sweep | method | trials | stopped by the search | epochs spent | best test accuracy | best trial | wall time |"
echo "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |"
details=()
for file in "${files[@]}"; do
    id=$(curl -fsS "${auth[@]}" -X POST "$base_url/sweeps" -H 'Content-Type: application/json' -d @"$file" | jq -r .id)
    echo "posted sweep $id from $file ($(uptime | sed 's/.*load/load/'))" >&2
    sweep=$(curl -fsS "${auth[@]}" "$base_url/sweeps/$id?wait=300")
    while [ "$(jq -r .status <<< "$sweep")" = running ]; do sweep=$(curl -fsS "${auth[@]}" "$base_url/sweeps/$id?wait=300"); done
    echo "sweep $id ended $(jq -r .status <<< "$sweep") ($(uptime | sed 's/.*load/load/'))" >&2
    jq -r --arg file "$file" '
        def pct: (. * 10000 | round / 100 | tostring) + " %";
        def values: to_entries | map("\(.key)=\(.value)") | join(" ");
        "| \(.name) (`\($file)`) | \(.method)\(if .earlyStopping then " + " + .earlyStopping.rule else "" end) | \(.points | length) | \([.points[] | select(.terminationReason == "stopped-by-search")] | length) | \(.epochsSpent * 100 | round / 100) | \(.best.bestTestAccuracy | pct) (epoch \(.best.bestEpoch)) | \(.best.values | values) | \((.finishedAt | sub("\\.[0-9]+"; "") | fromdateiso8601) - (.createdAt | sub("\\.[0-9]+"; "") | fromdateiso8601)) s |"' <<< "$sweep"
    details+=("$(jq -r --arg file "$file" '
        def pct: (. * 10000 | round / 100 | tostring) + " %";
        def values: to_entries | map("\(.key)=\(.value)") | join(" ");
        "\n#### \(.name)\n\n| trial | values | epochs spent | best test accuracy | rungs (epoch: value vs cutoff → decision) | ended |\n| ---: | --- | ---: | ---: | --- | --- |",
        (.points[] | "| \(.point) | \(.values | values) | \(.epochsSpent * 100 | round / 100) | \(.bestTestAccuracy | if . == null then "—" else pct end) | \([.rungs[] | "\(.epoch): \(.value * 10000 | round / 100) vs \(if .cutoff == null then "—" else .cutoff * 10000 | round / 100 | tostring end) → \(.decision)"] | join("; ")) | \(.terminationReason)\(if .stoppedAtEpoch then " at epoch \(.stoppedAtEpoch)" else "" end) |")' <<< "$sweep")")
done
printf '%s\n' "${details[@]}"
