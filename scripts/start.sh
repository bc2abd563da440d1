#!/usr/bin/env bash
# Starts the whole service on the embedded store: the API, the Hangfire queue and a worker in one
# process (src/Local, the all-in-one host), with jobs in ./data/trainingservice.db and checkpoints in ./data/checkpoints.
#   ./scripts/start.sh                      # http://localhost:8080/swagger
#   PORT=9000 Mnist__DataDirectory=../shared/mnist ./scripts/start.sh
# Set Storage__PostgresConnectionString to use PostgreSQL instead (start more workers beside it with
# `dotnet run --project src/Worker`; in production run src/Api, which has no worker, and src/Worker).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prerequisites.sh
dotnet build -c Release src/Local -v quiet -nologo -clp:ErrorsOnly
export ASPNETCORE_ENVIRONMENT=${ASPNETCORE_ENVIRONMENT:-Production}
exec dotnet src/Local/bin/Release/net10.0/TrainingService.Local.dll --urls "http://localhost:${PORT:-8080}"
