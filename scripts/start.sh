#!/usr/bin/env bash
# Starts the whole service on the embedded store: the API, the Hangfire queue and a worker in one
# process, with jobs in ./data/trainingservice.db and checkpoints in ./data/checkpoints.
#   ./scripts/start.sh                      # http://localhost:8080/swagger
#   PORT=9000 Mnist__DataDirectory=../shared/mnist ./scripts/start.sh
# Set Storage__PostgresConnectionString to use PostgreSQL instead (then start workers with
# `dotnet run --project src/Worker`, or set Worker__Enabled=true to keep one in-process).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prerequisites.sh
dotnet build -c Release src/Api -v quiet -nologo -clp:ErrorsOnly
export ASPNETCORE_ENVIRONMENT=${ASPNETCORE_ENVIRONMENT:-Production}
exec dotnet src/Api/bin/Release/net10.0/TrainingService.Api.dll --urls "http://localhost:${PORT:-8080}"
