#!/usr/bin/env bash
# Checks the container and Kubernetes files where there is no Docker engine, GPU or cluster (CI):
#   1. docker-compose.yml with `docker-compose config` (Debian's docker-compose), default and cpu
#      profiles, and that it refuses to run without POSTGRES_PASSWORD (no default secret);
#   2. the compose stack is what the README says (services, cpu profile, GPU reservation, shared
#      volumes) and its build targets exist in the Dockerfiles;
#   3. the Dockerfile with dockerfilelint (npm), minus its known false positives;
#   4. deploy/ rendered with `kubectl kustomize` (every overlay), each object validated against
#      its kind's schema (kubernetes-models, @kubernetes-models/keda from npm) and every
#      reference between objects resolved — where kubectl is installed or installable (it is in
#      no Debian 12 repository recent enough; skipped, saying so, elsewhere);
#   5. the exact restore and publish commands the Dockerfile runs (scripts/container-publish.sh),
#      CPU variant, into a temporary folder; the published API answers /health/live and
#      /health/ready and carries no TorchSharp or libtorch at all; the published worker starts,
#      loads libtorch and refuses gpu-only work without CUDA, saying why, and carries no CUDA library.
# Not checked here: building the images and running them (scripts/container-check.sh does, with
# podman), the worker-gpu target beyond the lint (this machine's NuGet mirror does not hold
# TorchSharp-cuda-linux), running on a GPU or a cluster.
# Installs what it needs (apt-get, npm); prints each check; exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { echo "== check-deploy: $*"; }
die() { echo "check-deploy: FAILED: $*" >&2; exit 1; }

work=$(mktemp -d /tmp/trainingservice-check-deploy.XXXXXX)
api_pid=""
cleanup() {
    if [ -n "$api_pid" ]; then kill "$api_pid" 2>/dev/null || true; wait "$api_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# ---- tools
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
apt_packages=()
command -v docker-compose >/dev/null || apt_packages+=(docker-compose)
command -v node >/dev/null || apt_packages+=(nodejs)
command -v npm >/dev/null || apt_packages+=(npm)
command -v curl >/dev/null || apt_packages+=(curl)
if [ ${#apt_packages[@]} -gt 0 ]; then
    step "installing ${apt_packages[*]} with apt-get"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${apt_packages[@]}" >/dev/null \
        || die "could not install ${apt_packages[*]} with apt-get"
fi

# kubectl (its built-in kustomize renders deploy/) is in no Debian 12 repository recent enough: it
# comes from the Kubernetes or Google Cloud apt repository, where one is configured. Without it the
# manifests go unrendered, said plainly below, and the other checks still run.
if ! command -v kubectl >/dev/null; then
    step "installing kubectl with apt-get, where a repository has it"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq kubectl >/dev/null 2>&1 || true
fi

# npm tools, pinned, cached between runs.
npm_tools="kubernetes-models@5.1.0 @kubernetes-models/keda@2.0.0 yaml@2.9.1 dockerfilelint@1.8.0"
tools=${XDG_CACHE_HOME:-$HOME/.cache}/trainingservice-deploy-tools
if [ "$(cat "$tools/installed" 2>/dev/null)" != "$npm_tools" ]; then
    step "installing $npm_tools with npm into $tools"
    mkdir -p "$tools"
    # shellcheck disable=SC2086 # the list is words on purpose
    (cd "$tools" && npm install --no-audit --no-fund --loglevel=error --no-save $npm_tools >/dev/null) \
        || die "npm could not install $npm_tools"
    echo "$npm_tools" > "$tools/installed"
fi

# ---- 1. compose
step "docker-compose config: docker-compose.yml ($(docker-compose version --short))"
POSTGRES_PASSWORD=check-only docker-compose config -q || die "docker-compose.yml is not valid"
if (unset POSTGRES_PASSWORD; docker-compose config -q) >/dev/null 2>&1; then
    die "docker-compose.yml works without POSTGRES_PASSWORD: a default password is baked in somewhere"
fi
echo "  valid; refuses to run without POSTGRES_PASSWORD (no default password)"

# ---- 2. what the compose stack must be
step "compose services, profiles, GPU reservation, shared volumes, build targets"
POSTGRES_PASSWORD=check-only docker-compose --profile cpu config > "$work/compose.yml"
/usr/bin/python3 scripts/check-compose.py "$work/compose.yml" || die "the compose stack is not what the README describes"

# ---- 3. Dockerfile lint
step "dockerfilelint: Dockerfile"
node scripts/lint-dockerfiles.cjs "$tools" Dockerfile || die "the Dockerfile has lint problems"

# ---- 4. Kubernetes manifests
not_checked="image builds (scripts/container-check.sh), the CUDA image's restore, a GPU, a cluster"
if command -v kubectl >/dev/null; then
    step "kubectl kustomize + schema and reference validation: deploy/overlays/* ($(kubectl version --client 2>/dev/null | grep -i kustomize || echo kustomize))"
    cp -r deploy "$work/deploy"
    rendered=()
    for overlay in "$work"/deploy/overlays/*/; do
        name=$(basename "$overlay")
        # The overlays read their password from secret.env, which is never committed: use the example.
        [ -f "$overlay/secret.env.example" ] && cp "$overlay/secret.env.example" "$overlay/secret.env"
        kubectl kustomize "$overlay" > "$work/$name.yaml" || die "kubectl kustomize deploy/overlays/$name failed"
        rendered+=("$work/$name.yaml")
    done
    node scripts/validate-k8s.mjs "$tools" "${rendered[@]}" || die "the rendered manifests are not valid"
else
    step "SKIPPED: deploy/ rendering and validation — no kubectl here (add the Kubernetes apt repository to check them)"
    not_checked="the Kubernetes manifests (no kubectl), $not_checked"
fi

# ---- 5. restore and publish, as the Dockerfiles run them (CPU variant)
step "restore and publish as the Dockerfile does: scripts/container-publish.sh (cpu)"
bash scripts/container-publish.sh restore api cpu
bash scripts/container-publish.sh publish api cpu "$work/api"
bash scripts/container-publish.sh restore worker cpu
bash scripts/container-publish.sh publish worker cpu "$work/worker"
for f in api/TrainingService.Api.dll worker/TrainingService.Worker.dll; do
    [ -f "$work/$f" ] || die "the publish output lacks $f"
done
torch_files=$(find "$work/api" \( -iname '*torch*' -o -name 'libc10*' -o -name 'libgomp*' \) | sed "s|^$work/||")
[ -z "$torch_files" ] || die "the API publish carries the training stack: $(echo "$torch_files" | head -5 | tr '\n' ' ')"
find "$work/worker" -name 'libLibTorchSharp.so' | grep -q . || die "the worker publish lacks TorchSharp's native library"
find "$work/worker" -name 'libtorch.so' | grep -q . || die "the worker publish lacks libtorch"
if find "$work/worker" -name 'libtorch_cuda*.so' -o -name 'libcudart*.so*' | grep -q .; then
    die "the worker publish (CPU variant) carries CUDA libraries"
fi
for program in api worker; do
    grep -q '"Microsoft.AspNetCore.App"' "$work/$program"/TrainingService.*.runtimeconfig.json \
        || die "the $program publish does not run on the ASP.NET Core runtime the images provide"
done
echo "  published: the API $(du -sm "$work/api" | cut -f1) MB with no TorchSharp or libtorch; the worker $(du -sm "$work/worker" | cut -f1) MB with libtorch's CPU build and no CUDA library"

step "the published worker starts and refuses gpu-only work without CUDA, saying why"
set +e
worker_output=$(cd "$work" && Storage__SqlitePath="$work/worker.db" Checkpoints__Root="$work/checkpoints" \
    Worker__Queues__0=gpu timeout 120 dotnet "$work/worker/TrainingService.Worker.dll" 2>&1)
worker_status=$?
set -e
echo "$worker_output" | sed 's/^/  | /' | head -5
[ "$worker_status" -eq 1 ] || die "the published worker exited with $worker_status, expected 1 (refused to start)"
echo "$worker_output" | grep -q "refuses to start.*CUDA is not usable: " || die "the published worker did not say why it refused"

step "the published API answers /health/live and /health/ready"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd "$work" && ASPNETCORE_URLS="http://127.0.0.1:$port" Storage__SqlitePath="$work/api.db" \
    Checkpoints__Root="$work/checkpoints" Mnist__Download=false Logging__Format=json \
    exec dotnet "$work/api/TrainingService.Api.dll" > "$work/api.log" 2>&1) &
api_pid=$!
for _ in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:$port/health/live" >/dev/null 2>&1 && break
    kill -0 "$api_pid" 2>/dev/null || { cat "$work/api.log" >&2; die "the published API exited"; }
    sleep 1
done
curl -fsS "http://127.0.0.1:$port/health/live" >/dev/null || { tail -20 "$work/api.log" >&2; die "the published API did not answer /health/live"; }
ready=$(curl -fsS "http://127.0.0.1:$port/health/ready") || { tail -20 "$work/api.log" >&2; die "the published API is not ready"; }
echo "  /health/ready: $ready"
head -1 "$work/api.log" | grep -q '^{' || die "the API did not log JSON with Logging__Format=json"
echo "  logs are JSON lines with Logging__Format=json"

echo "check-deploy: all checks passed (not run here: $not_checked)"
