#!/usr/bin/env bash
# Command (2): install what is missing (with the test tools), build, and run
# every test. This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 900
scripts/sanitize.sh
scripts/fuzz.sh
