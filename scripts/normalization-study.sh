#!/usr/bin/env bash
# Runs the normalization study of docs/normalization.md on a running service and prints its
# tables as Markdown: each sweep in the short-budget files of docs/normalization/ (or the files
# given, e.g. docs/normalization/full-budget.json) is posted to
# POST /sweeps, waited for, and summarised from GET /sweeps/{id} plus each job's last epoch.
#   ./scripts/start.sh &                                   # or any service, e.g. with GPU workers
#   BASE_URL=http://localhost:8080 ./scripts/normalization-study.sh > study.md
set -euo pipefail
cd "$(dirname "$0")/.."
base_url=${BASE_URL:-http://localhost:8080}
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(docs/normalization/architectures.json docs/normalization/batch-size.json docs/normalization/learning-rate.json)

auth=()
[ -n "${API_KEY:-}" ] && auth=(-H "Authorization: Bearer $API_KEY")

sweeps=()
for file in "${files[@]}"; do
    count=$(jq length "$file")
    for i in $(seq 0 $((count - 1))); do
        id=$(jq -c ".[$i]" "$file" | curl -fsS "${auth[@]}" -X POST "$base_url/sweeps" -H 'Content-Type: application/json' -d @- | jq -r .id)
        echo "posted sweep $id from $file" >&2
        sweeps+=("$file:$i:$id")
    done
done

for entry in "${sweeps[@]}"; do
    IFS=: read -r file i id <<< "$entry"
    while [ "$(curl -fsS "${auth[@]}" "$base_url/sweeps/$id" | jq -r .status)" = running ]; do sleep 5; done
    sweep=$(curl -fsS "${auth[@]}" "$base_url/sweeps/$id")

    # Each job's last epoch: train accuracy is measured in training mode (BatchNorm on batch
    # statistics), test accuracy in evaluation mode (BatchNorm on its running statistics).
    last_epochs='{}'
    for job in $(jq -r '.points[] | select(.jobId != null) | .jobId' <<< "$sweep"); do
        last=$(curl -fsS "${auth[@]}" "$base_url/jobs/$job/metrics" | jq -c 'last // {}')
        last_epochs=$(jq -c --arg job "$job" --argjson last "$last" '. + {($job): $last}' <<< "$last_epochs")
    done

    echo "### $(jq -r .name <<< "$sweep")"
    echo
    echo "Request (\`POST /sweeps\`, from \`$file\`):"
    echo
    echo '```json'
    jq ".[$i]" "$file"
    echo '```'
    echo
    echo "| row | runs | final test accuracy | best test accuracy | epochs to 99 % | last-epoch train accuracy | train − test | wall time |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    jq -r --argjson last "$last_epochs" '
        def pct: if . == null then "—" else (. * 10000 | round / 100 | tostring) + " %" end;
        def stat(f): if . == null then "—" else (.mean | f) + (if .std == null then "" else " ± " + (.std | f) end) end;
        def mean: if length == 0 then null else add / length end;
        . as $sweep
        | .comparison[]
        | . as $row
        | [$sweep.points[] | select(. as $p | $row.values | to_entries | all(.value == $p.values[.key])) | select(.status == "succeeded")] as $runs
        | ([$runs[] | $last[.jobId].trainAccuracy // empty] | mean) as $train
        | ([$runs[] | $last[.jobId].testAccuracy // empty] | mean) as $test
        | "| \($row.values | to_entries | map("\(.key)=\(.value)") | join(" ")) | \($row.succeeded)/\($row.runs) | \($row.finalTestAccuracy | stat(pct)) | \($row.bestTestAccuracy | stat(pct)) | \(if $row.epochsTo99 == null then "—" else ($row.epochsTo99.mean | tostring) + " (\($row.epochsTo99.count) of \($row.succeeded))" end) | \($train | pct) | \(if $train == null or $test == null then "—" else (($train - $test) | pct) end) | \($row.wallSeconds | stat(. * 10 | round / 10 | tostring + " s")) |"
    ' <<< "$sweep"
    echo
done
