#!/usr/bin/env bash
# Installs what the build needs beyond the .NET SDK, on Debian/Ubuntu: g++ (checks the host's
# libstdc++ and builds a small shim) and patchelf (patches TorchSharp's native library where the
# host's libstdc++ is older than GCC 13's, as on Debian 12), and postgresql (the job store's tests
# start a throwaway server from its binaries, scripts/postgres.sh), and curl and jq for the
# README's examples, and chromium and node (with npm) for the dashboard's browser test
# (scripts/dashboard-test.sh). With --tests, also Debian's python3-torch, which the PyTorch interop
# test runs (tests/Models.Tests/Interop): 180 MB, so only for the tests. Safe to run repeatedly.
set -euo pipefail

missing=()
if [ "${1:-}" = "--tests" ] && ! /usr/bin/python3 -c 'import torch' >/dev/null 2>&1; then
    missing+=(python3-torch)
fi
command -v g++ >/dev/null || missing+=(g++)
command -v patchelf >/dev/null || missing+=(patchelf)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
command -v curl >/dev/null || missing+=(curl) # the README's examples, run by scripts/readme-examples.sh
command -v jq >/dev/null || missing+=(jq)
command -v chromium >/dev/null || missing+=(chromium) # the dashboard test drives it headless
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
    echo "Please install: ${missing[*]} (the build and tests need them on this system)." >&2
    exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing ${missing[*]} with apt-get..." >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
