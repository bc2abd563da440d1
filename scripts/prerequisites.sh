#!/usr/bin/env bash
# Installs what the build needs beyond the .NET SDK, on Debian/Ubuntu: g++ (checks the host's
# libstdc++ and builds a small shim) and patchelf (patches TorchSharp's native library where the
# host's libstdc++ is older than GCC 13's, as on Debian 12), and postgresql (the job store's tests
# start a throwaway server from its binaries, scripts/postgres.sh), and curl and jq for the
# README's examples, and chromium and node (with npm) for the dashboard's browser test
# (scripts/dashboard-test.sh), and dataset-fashion-mnist, Debian's Fashion-MNIST (the four IDX files
# in /usr/share/datasets/fashion-mnist, 30 MB), the built-in dataset fashion-mnist. With --tests, also Debian's python3-torch, which the PyTorch interop
# test runs (tests/Models.Tests/Interop): 180 MB, so only for the tests. With --benchmark, that
# python3-torch and libopenblas0-pthread for bench/Benchmark's side-by-side run: Debian's PyTorch
# does its matrix products through whatever libblas.so.3 the alternatives system points to, and
# with only the reference BLAS (about 2.5 GFLOP/s on a 2048² product, against ~100 with
# OpenBLAS) the comparison would say nothing. With --containers, also
# what scripts/container-check.sh needs: podman with runc, netavark and aardvark-dns (bridge
# networks with service-name DNS), debootstrap (the local base images) and Debian's docker-compose
# (run against podman's Docker-compatible socket); without recommended packages, which would bring
# Docker's own engine. Safe to run repeatedly.
set -euo pipefail

tests=false containers=false benchmark=false
for argument in "$@"; do
    case "$argument" in
        --tests) tests=true ;;
        --benchmark) benchmark=true ;;
        --containers) containers=true ;;
        *) echo "usage: $0 [--tests] [--benchmark] [--containers]" >&2; exit 2 ;;
    esac
done

missing=()
if { [ "$tests" = true ] || [ "$benchmark" = true ]; } && ! /usr/bin/python3 -c 'import torch' >/dev/null 2>&1; then
    missing+=(python3-torch)
fi
if [ "$benchmark" = true ] && ! dpkg-query -W -f='${Status}' libopenblas0-pthread 2>/dev/null | grep -q 'install ok installed'; then
    missing+=(libopenblas0-pthread) # becomes libblas.so.3 by its higher alternatives priority
fi
container_missing=()
if [ "$containers" = true ]; then
    for package in podman runc netavark aardvark-dns containernetworking-plugins iptables debootstrap docker-compose; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || container_missing+=("$package")
    done
fi
command -v g++ >/dev/null || missing+=(g++)
command -v patchelf >/dev/null || missing+=(patchelf)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
command -v curl >/dev/null || missing+=(curl) # the README's examples, run by scripts/readme-examples.sh
command -v jq >/dev/null || missing+=(jq)
command -v chromium >/dev/null || missing+=(chromium) # the dashboard test drives it headless
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
# The built-in dataset fashion-mnist (Datasets__FashionMnistDirectory points elsewhere if it is not here).
dpkg-query -W -f='${Status}' dataset-fashion-mnist 2>/dev/null | grep -q 'install ok installed' || missing+=(dataset-fashion-mnist)
[ ${#missing[@]} -eq 0 ] && [ ${#container_missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
    echo "Please install: ${missing[*]} ${container_missing[*]} (the build and tests need them on this system)." >&2
    exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing ${missing[*]} ${container_missing[*]} with apt-get..." >&2
$sudo apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ${#container_missing[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${container_missing[@]}" >/dev/null
fi
