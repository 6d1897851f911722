#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (apt packages, npm dependencies) and runs every test:
# build, typecheck, lint and unit tests of each package, then the end-to-end suite
# against real QEMU 7.2 and 10.x. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
npm ci --no-audit --no-fund
npx nx run-many -t build typecheck lint test --outputStyle=stream --parallel=1
