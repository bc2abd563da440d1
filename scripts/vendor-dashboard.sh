#!/usr/bin/env bash
# Refreshes the dashboard's vendored front-end library from npm: uPlot (MIT), the charts of the
# learning curves. The files are committed, so neither the build nor the running service fetches
# anything; run this only to change the version below.
set -euo pipefail
cd "$(dirname "$0")/.."
uplot_version=1.6.32

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "uplot@$uplot_version" >/dev/null && tar xzf "uplot-$uplot_version.tgz")
target=src/Api/wwwroot/dashboard/vendor/uplot
mkdir -p "$target"
cp "$work/package/dist/uPlot.iife.min.js" "$work/package/dist/uPlot.min.css" "$work/package/LICENSE" "$target/"
echo "uPlot $uplot_version → $target"
