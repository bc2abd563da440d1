#!/usr/bin/env bash
# Builds the images from the repository's Dockerfile and runs the compose stack for real, with podman:
#   1. local base images (scripts/container-base-images.sh: cached, nothing rebuilt when current);
#   2. the API image and the CPU worker image, `podman build` of the Dockerfile's api and worker-cpu
#      targets (NuGet packages from a build-cache mount), and checks in the images: the API's holds
#      no libtorch or TorchSharp, the worker's does;
#   3. docker-compose.yml's cpu profile (Debian's docker-compose against podman's Docker-compatible
#      socket): PostgreSQL, the API and two CPU workers sharing the checkpoint volume, real MNIST
#      from ../shared/mnist mounted read-only;
#   4. over HTTP, as a user would: submit a reference job R and a job K (same spec, same seed) with
#      curl, follow R's SSE stream to its end, SIGKILL the worker container running K once K is
#      part-way through epoch 2 and has a mid-epoch checkpoint; the reaper hands K back and the other
#      worker finishes it as attempt 2, resuming epoch 2 at a step past the first; K's per-epoch
#      metrics and final weights equal R's bit for bit (workers train with Worker__Threads=1);
#   5. `down` then `up` again: every job, metric and checkpoint is still there (named volumes);
#   6. Testcontainers: tests/Storage.Tests (the PostgreSQL job store's tests) with their server from
#      Testcontainers.PostgreSql through the same podman socket, from the local PostgreSQL image,
#      Ryuk off (its image is on Docker Hub); the container is gone afterwards.
# Prints what it measured and a PASS/FAIL summary; exits non-zero on any failure. Idempotent: it
# removes what an earlier run left and, on exit, its containers, network, volumes and socket.
#
# Where no container engine is usable it says so and fails, unless CONTAINER_CHECK_ALLOW_NO_ENGINE=1
# (then it skips, saying so). CONTAINER_CHECK_KEEP=1 leaves the stack running at the end.
# CONTAINER_CHECK_NO_RESUME=1 is the negative control: it kills both workers, so nothing can resume
# K, and the check must fail.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
script_start=$(date +%s)

project=trainingservice-check
mnist=${TRAININGSERVICE_TEST_MNIST:-$root/../shared/mnist}
train_subset=${CONTAINER_CHECK_TRAIN_SUBSET:-6000}
resume_timeout=${CONTAINER_CHECK_RESUME_TIMEOUT:-300}
no_resume=${CONTAINER_CHECK_NO_RESUME:-0}

say() { echo "== container-check: $*"; }
since() { awk -v a="$(date +%s.%N)" -v b="$1" 'BEGIN { printf "%.1f", a - b }'; }
results=()
failures=0
pass() { results+=("PASS  $*"); echo "  PASS: $*"; }
fail() { results+=("FAIL  $*"); echo "  FAIL: $*" >&2; failures=$((failures + 1)); }
figures=()
figure() { figures+=("$*"); echo "  figure: $*"; }
summary() {
    echo
    echo "== container-check summary ($(( $(date +%s) - script_start )) s end to end)"
    for f in "${figures[@]}"; do echo "  $f"; done
    for r in "${results[@]}"; do echo "  $r"; done
    if [ "$failures" -eq 0 ] && [ ${#results[@]} -gt 0 ]; then
        echo "container-check: PASS (${#results[@]} checks)"
    else
        echo "container-check: FAIL ($failures of ${#results[@]} checks failed)"
    fi
}
# Stops the run: prints the summary and exits non-zero (the trap cleans up).
abort() { fail "$*"; summary; exit 1; }

# ---- the engine's prerequisites and settings
bash scripts/prerequisites.sh --containers || abort "could not install the container tools (scripts/prerequisites.sh --containers)"
work=$(mktemp -d /tmp/trainingservice-container-check.XXXXXX)
# Debian's podman 4.3 here: runc as the runtime (crun fails on this machine's hybrid cgroups) and
# explicit ulimits (the defaults ask for more than the sandbox allows).
cat > "$work/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
EOF
export CONTAINERS_CONF=$work/containers.conf
# podman runs health checks from systemd timers; with no systemd (PID 1 here is not systemd) it
# cannot, and this script runs them itself (below).
if [ "$(ps -p 1 -o comm= 2>/dev/null)" != "systemd" ]; then export DISABLE_HC_SYSTEMD=true; fi

socket_pid="" health_pid="" sse_pid=""
compose_files=(-f docker-compose.yml -f "$work/compose.check.yml")
compose() { DOCKER_HOST="unix://$work/podman.sock" docker-compose -p "$project" "${compose_files[@]}" --profile cpu "$@"; }
cleanup() {
    local status=$?
    [ -n "$sse_pid" ] && kill "$sse_pid" 2>/dev/null
    if [ "${CONTAINER_CHECK_KEEP:-0}" != 1 ] && [ -n "$socket_pid" ]; then
        compose down -v --remove-orphans >/dev/null 2>&1
    fi
    [ -n "$health_pid" ] && kill "$health_pid" 2>/dev/null
    if [ "${CONTAINER_CHECK_KEEP:-0}" = 1 ]; then
        echo "container-check: the stack is left running (CONTAINER_CHECK_KEEP=1): DOCKER_HOST=unix://$work/podman.sock docker-compose -p $project ... down -v"
    else
        [ -n "$socket_pid" ] && kill "$socket_pid" 2>/dev/null && wait "$socket_pid" 2>/dev/null
        rm -rf "$work"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "container engine: $(podman --version), $(docker-compose version --short 2>/dev/null | sed 's/^/docker-compose /')"
if ! podman info >/dev/null 2>"$work/podman-info.err"; then
    echo "container-check: NO USABLE CONTAINER ENGINE: podman info failed:" >&2
    sed 's/^/  | /' "$work/podman-info.err" >&2
    if [ "${CONTAINER_CHECK_ALLOW_NO_ENGINE:-0}" = 1 ]; then
        echo "container-check: SKIPPED, as CONTAINER_CHECK_ALLOW_NO_ENGINE=1 allows: no image was built, no container run" >&2
        exit 0
    fi
    abort "no usable container engine (set CONTAINER_CHECK_ALLOW_NO_ENGINE=1 to skip on such a machine)"
fi
[ -f "$mnist/train-images-idx3-ubyte.gz" ] || abort "no MNIST at $mnist (../shared/mnist beside the repository, or TRAININGSERVICE_TEST_MNIST)"
mnist=$(cd "$mnist" && pwd)

# ---- 1. base images
say "base images (scripts/container-base-images.sh)"
start=$(date +%s)
base_images=$(bash scripts/container-base-images.sh) || abort "the local base images could not be made"
eval "$base_images" # SDK_IMAGE, RUNTIME_IMAGE, POSTGRES_IMAGE
figure "base images ready in $(( $(date +%s) - start )) s"
if ! podman run --rm "$RUNTIME_IMAGE" true 2>"$work/run.err"; then
    sed 's/^/  | /' "$work/run.err" >&2
    if [ "${CONTAINER_CHECK_ALLOW_NO_ENGINE:-0}" = 1 ]; then
        echo "container-check: SKIPPED: podman cannot run a container here, and CONTAINER_CHECK_ALLOW_NO_ENGINE=1 allows skipping" >&2
        exit 0
    fi
    abort "podman cannot run a container here (set CONTAINER_CHECK_ALLOW_NO_ENGINE=1 to skip on such a machine)"
fi

# ---- 2. the images, from the repository's Dockerfile
build_image() { # TARGET TAG
    local target=$1 tag=$2 start
    say "podman build --target $target -t $tag ."
    start=$(date +%s)
    # --format docker: the OCI format has no HEALTHCHECK. --layers: unchanged stages come from cache.
    if ! podman build --format docker --layers --target "$target" \
            --build-arg SDK_IMAGE="$SDK_IMAGE" --build-arg RUNTIME_IMAGE="$RUNTIME_IMAGE" \
            --build-arg VERSION="$(git rev-parse --short HEAD 2>/dev/null || echo dev)" \
            -t "$tag" . > "$work/build-$target.log" 2>&1; then
        tail -30 "$work/build-$target.log" >&2
        abort "podman build of the $target target failed (log above)"
    fi
    local seconds=$(( $(date +%s) - start ))
    local size
    size=$(podman image inspect --format '{{ .Size }}' "$tag")
    figure "$target image: $(( size / 1000000 )) MB, built in $seconds s"
}
build_image api localhost/trainingservice-api:latest
build_image worker-cpu localhost/trainingservice-worker-cpu:latest
# A rebuilt tag leaves the previous image dangling: drop the service's own dangling images, and
# build-cache images unused for a week, so that repeated runs on changing sources do not fill the disk.
podman image prune -f --filter label=org.opencontainers.image.vendor=TrainingService >/dev/null 2>&1
podman image prune -f --filter until=168h >/dev/null 2>&1

say "what the images hold"
torch_in_api=$(podman run --rm --entrypoint sh localhost/trainingservice-api:latest -c \
    'find / -xdev \( -iname "*torch*" -o -name "libc10*" -o -name "libgomp*" \) 2>/dev/null')
torch_in_worker=$(podman run --rm --entrypoint sh localhost/trainingservice-worker-cpu:latest -c \
    'find / -xdev \( -name libtorch.so -o -name libLibTorchSharp.so -o -name TorchSharp.dll \) 2>/dev/null' | sort | tr '\n' ' ')
if [ -z "$torch_in_api" ] && [ -n "$torch_in_worker" ]; then
    pass "the API image holds no libtorch or TorchSharp file (the same search finds the worker's: $torch_in_worker)"
else
    fail "the API image holds training files: ${torch_in_api:-none} / the worker's search found: ${torch_in_worker:-nothing}"
fi
health_api=$(podman image inspect --format '{{ json .Config.Healthcheck.Test }}' localhost/trainingservice-api:latest)
user_api=$(podman image inspect --format '{{ .Config.User }}' localhost/trainingservice-api:latest)
user_worker=$(podman image inspect --format '{{ .Config.User }}' localhost/trainingservice-worker-cpu:latest)
if [ "$health_api" != "null" ] && [ "$user_api" = 1654 ] && [ "$user_worker" = 1654 ]; then
    pass "both images run as uid 1654 and carry their health checks"
else
    fail "image settings: API user '$user_api', worker user '$user_worker', API health check $health_api"
fi

# ---- 3. the compose stack
say "the compose stack: postgres, api, two worker-cpu (docker-compose against podman's socket)"
podman system service --time=0 "unix://$work/podman.sock" > "$work/podman-service.log" 2>&1 &
socket_pid=$!
for _ in $(seq 1 50); do [ -S "$work/podman.sock" ] && break; sleep 0.2; done
[ -S "$work/podman.sock" ] || abort "podman system service did not open its socket"

api_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export POSTGRES_PASSWORD POSTGRES_IMAGE ADMIN_API_KEY API_PORT=$api_port TAG=latest
POSTGRES_PASSWORD=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
ADMIN_API_KEY=tsk_$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
# What the check changes in docker-compose.yml: real MNIST read-only and no download; one libtorch
# thread per worker (the kill-and-resume comparison is bit for bit); short lease, reaper and
# mid-epoch checkpoint intervals so a killed worker's job comes back in seconds; workers that stay
# dead once killed (else the killed one could restart and take its own job back).
lease_settings='Worker__StaleAfter: "00:00:10"
      Worker__HeartbeatInterval: "00:00:01"
      Worker__ReaperInterval: "00:00:01"'
cat > "$work/compose.check.yml" <<EOF
services:
  api:
    environment:
      $lease_settings
  worker-cpu:
    environment:
      $lease_settings
      Worker__Threads: "1"
      Worker__MidEpochCheckpointInterval: "00:00:02"
      Mnist__Download: "false"
    volumes:
      - $mnist:/data/mnist:ro
    restart: "no"
EOF
compose down -v --remove-orphans >/dev/null 2>&1 # what an interrupted earlier run left

# The health-check runner podman lacks here: every 3 s, each of the project's containers.
(
    while true; do
        for id in $(podman ps -q --filter "label=com.docker.compose.project=$project" 2>/dev/null); do
            podman healthcheck run "$id" >/dev/null 2>&1
        done
        sleep 3
    done
) &
health_pid=$!

api="http://127.0.0.1:$api_port"
auth=(-H "Authorization: Bearer $ADMIN_API_KEY")
wait_ready() { # SECONDS -> 0 once the API is ready and two workers are listed
    local deadline=$(( $(date +%s) + $1 ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        if curl -fsS "$api/health/ready" >/dev/null 2>&1 \
            && [ "$(curl -fsS "${auth[@]}" "$api/workers" 2>/dev/null | jq 'length')" = 2 ]; then
            return 0
        fi
        sleep 0.5
    done
    return 1
}
stack_up() { # LABEL
    local start
    start=$(date +%s.%N)
    compose up -d --no-build --scale worker-cpu=2 postgres api worker-cpu > "$work/up.log" 2>&1 \
        || { cat "$work/up.log" >&2; compose logs --tail 30 >&2; abort "docker-compose up failed ($1)"; }
    wait_ready 180 || { compose ps >&2; compose logs --tail 40 >&2; abort "the stack did not become ready with two workers within 180 s ($1)"; }
    figure "$1: stack up (postgres healthy, API ready, two workers heard from) in $(since "$start") s"
}
stack_up "first start"
compose ps

# ---- 4. jobs over HTTP
say "jobs over HTTP: reference R and job K, the same spec and seed"
spec=$(jq -nc --argjson subset "$train_subset" '{kind: "train", architecture: "convnet", name: "container-check",
    hyperparameters: {epochs: 2, trainSubset: $subset, seed: 7}, tags: ["container-check"]}')
submit() { curl -fsS -X POST "$api/jobs" "${auth[@]}" -H 'Content-Type: application/json' -d "$spec" | jq -r .id; }
job() { curl -fsS "${auth[@]}" "$api/jobs/$1"; }
R=$(submit) || abort "POST /jobs failed"
# R's SSE stream, followed until its `end` event closes it.
curl -fsSN --max-time 900 "${auth[@]}" -H 'Accept: text/event-stream' "$api/jobs/$R/metrics" > "$work/sse-R.txt" 2>"$work/sse-R.err" &
sse_pid=$!
for _ in $(seq 1 120); do [ "$(job "$R" | jq -r .status)" = running ] && break; sleep 0.5; done
K=$(submit) || abort "POST /jobs failed"
echo "  R = $R, K = $K"

# K part-way through epoch 2, with a mid-epoch checkpoint on the volume (seen from the API's container).
say "waiting for K to be part-way through epoch 2 with a mid-epoch checkpoint"
api_container=$(podman ps -q --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=api")
k_state=""
deadline=$(( $(date +%s) + 300 ))
while [ "$(date +%s)" -lt "$deadline" ]; do
    k_state=$(job "$K")
    if [ "$(echo "$k_state" | jq -r '.status == "running" and .progress.epoch == 2 and .progress.step * 3 >= .progress.stepsPerEpoch')" = true ] \
        && podman exec "$api_container" sh -c "ls /data/checkpoints/${K//-/}/mid-epoch/* >/dev/null 2>&1"; then
        break
    fi
    case "$(echo "$k_state" | jq -r .status)" in succeeded|failed|cancelled) k_state=""; break ;; esac
    k_state=""
    sleep 0.3
done
[ -n "$k_state" ] || abort "K never reached a third of epoch 2 with a mid-epoch checkpoint: $(job "$K" | jq -c '{status, attempt, progress}')"
killed_worker=$(echo "$k_state" | jq -r .worker)
killed_host=${killed_worker%%:*}
victim=""
for id in $(podman ps -q --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=worker-cpu"); do
    [ "$(podman inspect --format '{{ .Config.Hostname }}' "$id")" = "$killed_host" ] && victim=$id
done
[ -n "$victim" ] || abort "no worker container has the host name of K's worker ($killed_worker)"
victim_name=$(podman inspect --format '{{ .Name }}' "$victim")
say "SIGKILL to $victim_name (K's worker $killed_worker) at epoch 2, step $(echo "$k_state" | jq -r '"\(.progress.step) of \(.progress.stepsPerEpoch)"')"
podman kill --signal KILL "$victim" >/dev/null || abort "podman kill failed"
kill_time=$(date +%s.%N)
if [ "$no_resume" = 1 ]; then
    say "NEGATIVE CONTROL (CONTAINER_CHECK_NO_RESUME=1): killing the other worker too; K cannot resume and the check must fail"
    for id in $(podman ps -q --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=worker-cpu"); do
        podman kill --signal KILL "$id" >/dev/null
    done
fi
sleep 2
[ "$(podman inspect --format '{{ .State.Running }}' "$victim")" = false ] \
    && pass "the killed worker container stays dead ($(podman inspect --format 'exit code {{ .State.ExitCode }}' "$victim"))" \
    || fail "the killed worker container is running again"

# Handed back by the reaper, then finished by the other worker.
handback="" resumed_start="" k_final=""
deadline=$(( $(date +%s) + resume_timeout ))
while [ "$(date +%s)" -lt "$deadline" ]; do
    state=$(job "$K" 2>/dev/null) || { sleep 0.5; continue; }
    status=$(echo "$state" | jq -r .status)
    attempt=$(echo "$state" | jq -r .attempt)
    [ -z "$handback" ] && [ "$attempt" = 1 ] && [ "$status" != running ] && handback=$(date +%s.%N)
    [ -z "$resumed_start" ] && [ "$attempt" = 2 ] && resumed_start=$(date +%s.%N) && [ -z "$handback" ] && handback=$resumed_start
    case "$status" in succeeded|failed|cancelled) k_final=$state; break ;; esac
    sleep 0.5
done
if [ -z "$k_final" ]; then
    fail "K did not finish within $resume_timeout s of the kill: $(job "$K" | jq -c '{status, attempt, worker}')"
    summary
    exit 1
fi
elapsed() { awk -v a="$1" -v b="$kill_time" 'BEGIN { printf "%.1f", a - b }'; }
figure "K handed back to the queue $(elapsed "${handback:-$kill_time}") s after the kill (StaleAfter 10 s + ReaperInterval 1 s); attempt 2 started $(elapsed "${resumed_start:-$kill_time}") s after it"
final_worker=$(echo "$k_final" | jq -r .worker)
if [ "$(echo "$k_final" | jq -r .status)" = succeeded ] && [ "$(echo "$k_final" | jq -r .attempt)" = 2 ] && [ "$final_worker" != "$killed_worker" ]; then
    pass "K succeeded as attempt 2 on the other worker ($final_worker; killed: $killed_worker)"
else
    fail "K ended $(echo "$k_final" | jq -c '{status, attempt, worker, error}') (killed worker: $killed_worker)"
fi
resume_line=$(curl -fsS "${auth[@]}" "$api/jobs/$K/logs" | jq -r '.items[].message' | grep -E 'attempt 2 resumes' | head -1)
if echo "$resume_line" | grep -qE 'resumes epoch 2 at step [1-9]'; then
    pass "attempt 2 resumed mid-epoch from the last mid-epoch checkpoint: \"$resume_line\""
else
    fail "attempt 2 did not resume part-way through epoch 2 (its log: ${resume_line:-no resume line})"
fi

# R finished undisturbed; its stream showed every epoch and the end.
for _ in $(seq 1 600); do [ "$(job "$R" | jq -r .status)" = succeeded ] && break; sleep 0.5; done
r_final=$(job "$R")
# The stream must close by itself after its end event.
for _ in $(seq 1 60); do kill -0 "$sse_pid" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$sse_pid" 2>/dev/null; then
    sse_status="still open 30 s after the job ended"
else
    wait "$sse_pid"
    sse_status="curl exit $?"
    sse_pid=""
fi
epochs_streamed=$(grep -c '^event: epoch' "$work/sse-R.txt")
progress_streamed=$(grep -c '^event: progress' "$work/sse-R.txt")
if [ "$(echo "$r_final" | jq -r '.status + " " + (.attempt|tostring)')" = "succeeded 1" ] && [ "$epochs_streamed" = 2 ] \
    && grep -q '^event: end' "$work/sse-R.txt" && [ "$sse_status" = "curl exit 0" ]; then
    pass "R succeeded in one attempt; its SSE stream gave $epochs_streamed epoch events, $progress_streamed progress events and the end event, then closed"
else
    fail "R ended $(echo "$r_final" | jq -c '{status, attempt}'); its stream: $epochs_streamed epochs, end: $(grep -c '^event: end' "$work/sse-R.txt"), $sse_status"
fi
r_seconds=$(awk -v a="$(date -d "$(echo "$r_final" | jq -r .finishedAt)" +%s.%N)" -v b="$(date -d "$(echo "$r_final" | jq -r .startedAt)" +%s.%N)" 'BEGIN { printf "%.1f", a - b }')
figure "R trained 2 epochs of $train_subset images (convnet, 1 thread) in about $r_seconds s"

# The same metrics, bit for bit: every recorded number but the timings.
metric_values='[.[] | {epoch, trainLoss, trainAccuracy, testLoss, testAccuracy, learningRate}]'
curl -fsS "${auth[@]}" "$api/jobs/$R/metrics" > "$work/metrics-R.json"
curl -fsS "${auth[@]}" "$api/jobs/$K/metrics" > "$work/metrics-K.json"
r_metrics=$(jq -c "$metric_values" "$work/metrics-R.json")
k_metrics=$(jq -c "$metric_values" "$work/metrics-K.json")
if [ "$(echo "$r_metrics" | jq length)" = 2 ] && [ "$r_metrics" = "$k_metrics" ]; then
    pass "K's metrics equal the undisturbed R's exactly: $(echo "$k_metrics" | jq -c '[.[] | {epoch, testAccuracy, testLoss}]')"
else
    fail "K's metrics differ from R's: R $r_metrics / K $k_metrics"
fi
download() { # JOB FILE -> the download's SHA-256
    curl -fsS "${auth[@]}" -o "$2" -D "$2.headers" "$api/jobs/$1/checkpoints/final" && sha256sum "$2" | cut -d' ' -f1
}
r_sha=$(download "$R" "$work/R.safetensors") || fail "downloading R's final checkpoint failed"
k_sha=$(download "$K" "$work/K.safetensors") || fail "downloading K's final checkpoint failed"
r_etag=$(grep -i '^etag:' "$work/R.safetensors.headers" | tr -d '"\r' | awk '{print $2}')
if [ -n "$r_sha" ] && [ "$r_sha" = "$k_sha" ] && [ "$r_etag" = "$r_sha" ]; then
    pass "final checkpoints downloaded ($(stat -c %s "$work/R.safetensors") bytes each): K's weights are R's bit for bit (SHA-256 ${r_sha:0:16}…, the ETag)"
else
    fail "final checkpoints: R ${r_sha:-none} (ETag ${r_etag:-none}), K ${k_sha:-none}"
fi
checkpoints_before=$(curl -fsS "${auth[@]}" "$api/jobs/$K/checkpoints" | jq -c .)

health=$(for id in $(podman ps -q --filter "label=com.docker.compose.project=$project"); do
    podman inspect --format '{{ index .Config.Labels "com.docker.compose.service" }}={{ .State.Health.Status }}' "$id"; done | sort | tr '\n' ' ')
figure "health of the running containers (the images' own checks, run every 3 s): $health"

# ---- 5. down, up: the named volumes keep everything
say "docker-compose down (volumes kept), then up again"
jobs_before=$(curl -fsS "${auth[@]}" "$api/jobs?tag=container-check&limit=10" | jq -c '[.items[] | {id, status, attempt}] | sort_by(.id)')
compose down > "$work/down.log" 2>&1 || { cat "$work/down.log" >&2; abort "docker-compose down failed"; }
volumes=$(podman volume ls -q --filter "label=com.docker.compose.project=$project" | sort | tr '\n' ' ')
figure "volumes after down: $volumes"
stack_up "after down/up"
jobs_after=$(curl -fsS "${auth[@]}" "$api/jobs?tag=container-check&limit=10" | jq -c '[.items[] | {id, status, attempt}] | sort_by(.id)')
same_metrics=true
for j in "$R" "$K"; do
    [ "$(curl -fsS "${auth[@]}" "$api/jobs/$j/metrics" | jq -c .)" = "$(jq -c . "$work/metrics-$([ "$j" = "$R" ] && echo R || echo K).json")" ] || same_metrics=false
done
r_sha_after=$(download "$R" "$work/R-after.safetensors")
k_sha_after=$(download "$K" "$work/K-after.safetensors")
checkpoints_after=$(curl -fsS "${auth[@]}" "$api/jobs/$K/checkpoints" | jq -c .)
if [ "$jobs_before" = "$jobs_after" ] && [ "$(echo "$jobs_after" | jq length)" = 2 ] && [ "$same_metrics" = true ] \
    && [ "$r_sha_after" = "$r_sha" ] && [ "$k_sha_after" = "$k_sha" ] && [ "$checkpoints_after" = "$checkpoints_before" ]; then
    pass "after down/up: both jobs ($(echo "$jobs_after" | jq -r '[.[] | "\(.status) attempt \(.attempt)"] | join(", ")')), every metric record, the checkpoint list ($(echo "$checkpoints_after" | jq 'length') entries) and both final checkpoints are unchanged"
else
    fail "after down/up: jobs $jobs_before -> $jobs_after; metrics unchanged: $same_metrics; R ${r_sha:0:12} -> ${r_sha_after:0:12}; K ${k_sha:0:12} -> ${k_sha_after:0:12}; checkpoints listed unchanged: $([ "$checkpoints_after" = "$checkpoints_before" ] && echo yes || echo no)"
fi

# ---- 6. Testcontainers: the PostgreSQL-backed store tests get their server from the same engine
say "Testcontainers: tests/Storage.Tests against a container from $POSTGRES_IMAGE (podman's socket, Ryuk off)"
compose down -v --remove-orphans > "$work/down.log" 2>&1
start=$(date +%s)
( while true; do podman ps --format '{{ .Image }}' >> "$work/testcontainers-seen.txt" 2>/dev/null; sleep 1; done ) &
watch_pid=$!
env -u TRAININGSERVICE_TEST_POSTGRES DOCKER_HOST="unix://$work/podman.sock" TESTCONTAINERS_RYUK_DISABLED=true \
    TRAININGSERVICE_TEST_POSTGRES_IMAGE="$POSTGRES_IMAGE" \
    dotnet test tests/Storage.Tests -c Release -nologo > "$work/testcontainers.log" 2>&1
test_status=$?
kill "$watch_pid" 2>/dev/null
tested=$(grep -E '(Passed|Failed)! +- Failed:' "$work/testcontainers.log" | tail -1 | sed 's/^ *//')
left=$(podman ps -aq --filter "ancestor=$POSTGRES_IMAGE" | wc -l)
if [ "$test_status" -eq 0 ] && grep -qx "$POSTGRES_IMAGE" "$work/testcontainers-seen.txt" && [ "$left" -eq 0 ]; then
    pass "Storage.Tests on a Testcontainers PostgreSQL ($POSTGRES_IMAGE, removed at the end): $tested"
else
    tail -30 "$work/testcontainers.log" >&2
    fail "Storage.Tests through Testcontainers: exit $test_status, ${tested:-no summary}; container seen: $(grep -cx "$POSTGRES_IMAGE" "$work/testcontainers-seen.txt"); left behind: $left"
fi
figure "Testcontainers step (build and 1 test assembly) in $(( $(date +%s) - start )) s"

summary
[ "$failures" -eq 0 ]
