#!/usr/bin/env bash
# The restore and publish steps of the container images, in one place: the Dockerfiles run them,
# and scripts/check-deploy.sh runs the same commands (CPU variant) where there is no Docker engine,
# so what CI checks is exactly what an image build does.
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

case "$step" in
    restore)
        set -x
        dotnet restore "$project" -p:TorchBackend="$backend"
        ;;
    publish)
        [ $# -eq 4 ] || usage
        set -x
        dotnet publish "$project" -c Release --no-restore -p:TorchBackend="$backend" -o "$4" -nologo
        ;;
    *) usage ;;
esac
