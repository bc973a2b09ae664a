#!/usr/bin/env bash
# Command (2): install what is missing (with the test tools), build, and run
# every test. This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
# build/ without the unit test binaries: they run in the check tree, under
# ASan+UBSan (scripts/sanitize.sh), so the project's tests are compiled once.
scripts/build.sh --no-unit-tests

# The sanitizer and fuzzer build needs nothing from the tests: it is built
# in the background at the lowest priority while ctest runs, on the CPU that
# the integration, crash and browser tests leave idle while they wait on
# restarts, broker outages and timers. A test always goes first (nice 19 in
# the same session). Their output goes to build/background-builds.log; a
# failed build is simply built again, in the foreground, by the scripts below.
set -m  # the background job gets its own process group, to stop it as a whole
# One tree, build-check/, serves both (scripts/configure-check.sh).
nice -n 19 scripts/sanitize.sh --build-only >build/background-builds.log 2>&1 &
background=$!
trap 'kill -- "-$background" 2>/dev/null || true' EXIT
set +m

ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 900
start=$SECONDS
wait "$background" || echo "test.sh: a background build failed (build/background-builds.log)"
echo "test.sh: waited $((SECONDS - start)) s for the background builds"
trap - EXIT
scripts/sanitize.sh
scripts/fuzz.sh
