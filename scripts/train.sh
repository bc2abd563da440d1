#!/usr/bin/env bash
# Trains one architecture on MNIST from the command line, with per-epoch checkpoints; running the
# same command with the same --run-dir resumes after the last checkpoint. All arguments go to
# `trainingservice train` (see README, "Training from the command line").
#   ./scripts/train.sh --architecture convnet --data ../shared/mnist
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prerequisites.sh
dotnet build -c Release src/Cli -v quiet -nologo -clp:ErrorsOnly
exec dotnet src/Cli/bin/Release/net10.0/trainingservice.dll train "$@"
