#!/usr/bin/env bash
# Writes the OpenAPI document the API serves to docs/openapi.json (commit it with the change that
# altered the API): the typed client in src/Client is generated from that file, Spectral lints it
# (scripts/lint-openapi.sh), and a test fails while the two differ.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build -c Release tests/Api.Tests -v quiet -nologo -clp:ErrorsOnly
TRAININGSERVICE_UPDATE_OPENAPI=1 dotnet test tests/Api.Tests -c Release --no-build -nologo -v quiet \
    --filter "FullyQualifiedName~OpenApiDocumentTests" >/dev/null
git --no-pager diff --stat -- docs/openapi.json
