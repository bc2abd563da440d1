#!/usr/bin/env bash
# Runs every curl example of the README's "Using the service" section against a real service:
# the API on the embedded store, started here on a free port with a scratch data folder. Each
# example must succeed (curl -f fails on HTTP errors; set -e stops at the first failure).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prerequisites.sh

work=$(mktemp -d)
# A port nothing listens on: bash's /dev/tcp connect fails for a free one.
for _ in $(seq 1 50); do
    port=$(shuf -i 20000-60000 -n 1)
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
done
mnist=${Mnist__DataDirectory:-$(realpath ../shared/mnist)}

dotnet build -c Release src/Api -v quiet -nologo -clp:ErrorsOnly
Storage__SqlitePath="$work/trainingservice.db" Checkpoints__Root="$work/checkpoints" \
    Mnist__DataDirectory="$mnist" Mnist__Download=false ASPNETCORE_ENVIRONMENT=Production \
    dotnet src/Api/bin/Release/net10.0/TrainingService.Api.dll --urls "http://localhost:$port" > "$work/service.log" 2>&1 &
service=$!
trap 'kill $service 2>/dev/null; wait $service 2>/dev/null; rm -rf "$work"' EXIT

for _ in $(seq 1 120); do
    curl -fs "http://localhost:$port/health/ready" >/dev/null 2>&1 && break
    kill -0 $service 2>/dev/null || { cat "$work/service.log"; exit 1; }
    sleep 0.5
done

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
