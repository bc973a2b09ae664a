#!/usr/bin/env bash
# Configures and builds wijkpuls in build/ with both cores.
# `--no-unit-tests`: leave the unit test binaries out of build/
# (scripts/test.sh runs them in the sanitizer tree instead); without it they
# are built, also in a tree configured without them before.
set -euo pipefail
cd "$(dirname "$0")/.."
unit_tests=ON
[[ ${1:-} == --no-unit-tests ]] && unit_tests=OFF
if [[ ! -f build/CMakeCache.txt ]]; then
  # Optimised as shipped, with line tables only (-g1: backtraces name file and
  # line). With full -g, and before model/log.h, the whole build took 7.0 min
  # here; with -g1 and model/log.h 5.2 min (2026-12-01).
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
    -DWIJKPULS_UNIT_TESTS=$unit_tests
elif ! grep -q "^WIJKPULS_UNIT_TESTS:BOOL=$unit_tests\$" build/CMakeCache.txt; then
  cmake -S . -B build -DWIJKPULS_UNIT_TESTS=$unit_tests
fi
cmake --build build -j "$(nproc)"
