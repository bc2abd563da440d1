# Sourced by the scripts that test against a real service (readme-examples.sh, dashboard-test.sh):
# start_embedded_service HOST builds the all-in-one local host (API and worker) and starts it on the embedded store, on a free port of
# HOST, with a scratch data folder, and waits until it is ready. It sets $work (the scratch folder,
# which holds service.log), $port and $service (the process id), and stops the service and removes
# the folder on exit. Returns 1, after printing the service's log, if the service dies starting.

start_embedded_service() {
    local host=$1
    work=$(mktemp -d)
    # A port nothing listens on: bash's /dev/tcp connect fails for a free one.
    for _ in $(seq 1 50); do
        port=$(shuf -i 20000-60000 -n 1)
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
    done
    local mnist=${Mnist__DataDirectory:-$(realpath ../shared/mnist)}

    dotnet build -c Release src/Local -v quiet -nologo -clp:ErrorsOnly || return 1
    Storage__SqlitePath="$work/trainingservice.db" Checkpoints__Root="$work/checkpoints" \
        Mnist__DataDirectory="$mnist" Mnist__Download=false ASPNETCORE_ENVIRONMENT=Production \
        dotnet src/Local/bin/Release/net10.0/TrainingService.Local.dll --urls "http://$host:$port" > "$work/service.log" 2>&1 &
    service=$!
    trap 'kill $service 2>/dev/null; wait $service 2>/dev/null; rm -rf "$work"' EXIT

    for _ in $(seq 1 120); do
        curl -fs "http://$host:$port/health/ready" >/dev/null 2>&1 && return 0
        kill -0 "$service" 2>/dev/null || { cat "$work/service.log"; return 1; }
        sleep 0.5
    done
    echo "the service did not become ready within a minute"; tail -50 "$work/service.log"
    return 1
}
