#!/usr/bin/env bash
# The restore and publish steps of the container images, in one place: the Dockerfile's publish
# stages run them (the API, the CPU worker and the GPU worker alike), and scripts/check-deploy.sh
# runs the same commands (CPU variant) on the host, so what it checks is what an image build does.
# The API's graph (src/Api: Contracts, Storage, ServiceDefaults) has no TorchSharp, whichever
# backend is named; the worker's (src/Worker, with src/Models) links the backend's libtorch.
#
# usage: container-publish.sh restore api|worker cpu|cuda
#        container-publish.sh publish api|worker cpu|cuda OUTPUT_FOLDER
#
# The backend is the MSBuild property TorchBackend (Directory.Build.props): cpu links
# libtorch-cpu-linux-x64, cuda links TorchSharp-cuda-linux. Restore and publish must be given the
# same one: the backend decides which packages the restore brings in.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: $0 restore api|worker cpu|cuda | publish api|worker cpu|cuda OUTPUT_FOLDER" >&2; exit 2; }
[ $# -ge 3 ] || usage
step=$1 program=$2 backend=$3
case "$program" in
    api) project=src/Api/Api.csproj ;;
    worker) project=src/Worker/Worker.csproj ;;
    *) usage ;;
esac
case "$backend" in cpu|cuda) ;; *) usage ;; esac
# For this machine's architecture only, on the shared framework the images provide: leaves out the
# native libraries of other platforms (SQLite's and SkiaSharp's, 120 MB in the API's folder).
case "$(uname -m)" in
    x86_64) rid=linux-x64 ;;
    aarch64) rid=linux-arm64 ;;
    *) echo "$0: no .NET runtime identifier for $(uname -m)" >&2; exit 2 ;;
esac

case "$step" in
    restore)
        set -x
        dotnet restore "$project" -r "$rid" -p:TorchBackend="$backend"
        ;;
    publish)
        [ $# -eq 4 ] || usage
        set -x
        dotnet publish "$project" -c Release --no-restore -r "$rid" --self-contained false -p:TorchBackend="$backend" -o "$4" -nologo
        ;;
    *) usage ;;
esac
