#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (apt packages, npm dependencies) and runs every test:
# build, typecheck, lint and unit tests of each package, then the end-to-end suite
# against real QEMU 7.2 and 10.x. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
npm ci --no-audit --no-fund

# The end-to-end suite prints for half an hour after the unit tests; when something fails,
# what failed is repeated at the end, where a reader of only the log's tail sees it.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
npx nx run-many -t build typecheck lint test --outputStyle=stream --parallel=1 2>&1 | tee "$log" || status=$?
if [ "$status" -ne 0 ]; then
  echo
  echo "==== what failed, repeated from above ===="
  sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '
    /⎯ (Failed Tests|Failed Suites|Unhandled Error)/ { keep = 1 }
    /Test Files / { keep = 0 }
    keep || / error |error TS[0-9]+/ { print }
  ' | head -250
fi
exit "$status"
