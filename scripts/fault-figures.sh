#!/usr/bin/env bash
# Turns the FAULT-FIGURES lines the fault tests and the soak print (tests/Faults.Tests) into the
# markdown table docs/reliability.md shows, so that every figure there comes from a test run:
#
#   dotnet test tests/Faults.Tests -c Release --logger "console;verbosity=detailed" | tee faults.log
#   scripts/fault-figures.sh faults.log          # or: ... | scripts/fault-figures.sh
#
# One row per line (a line printed twice, by the test's output and by the console, counts once),
# then a totals line. Needs jq.
set -euo pipefail
grep -ho 'FAULT-FIGURES {.*}' "${@:--}" | sed 's/^FAULT-FIGURES //' | awk '!seen[$0]++' | jq -rs '
  def yesno: if . then "yes" else "**no**" end;
  def value: if type == "string" then . else tojson end;
  "| fault | jobs | survived | jobs lost | attempts | epochs recorded | epochs trained twice | epochs missing | measured |",
  "| --- | ---: | :---: | ---: | ---: | ---: | ---: | ---: | --- |",
  (.[] | "| \(.fault) | \(.jobs) | \(.survived | yesno) | \(.jobsLost) | \(.attempts) | \(.epochsRecorded) | \(.epochsTrainedTwice) | \(.epochsMissing) | \(.details | to_entries | map("\(.key) \(.value | value)") | join("; ")) |"),
  "",
  "**Faults survived: \(map(select(.survived)) | length) of \(length). Jobs lost: \(map(.jobsLost) | add) (of \(map(.jobs) | add)). Epochs recorded: \(map(.epochsRecorded) | add), trained twice: \(map(.epochsTrainedTwice) | add), missing: \(map(.epochsMissing) | add); optimizer steps counted: \(map(.stepsCounted) | add).**"'
