#!/usr/bin/env bash
# Lints the committed OpenAPI document (docs/openapi.json) with Spectral and the rules in
# .spectral.yaml; exits non-zero on any error or warning. Spectral comes from npm, pinned in
# tests/OpenApi/package.json, installed there on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prerequisites.sh
if [ ! -x tests/OpenApi/node_modules/.bin/spectral ]; then
    (cd tests/OpenApi && npm install --no-audit --no-fund --silent)
fi
tests/OpenApi/node_modules/.bin/spectral lint docs/openapi.json --ruleset .spectral.yaml --fail-severity warn
