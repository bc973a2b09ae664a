#!/usr/bin/env bash
# Configures the check tree, build-check/, once: clang, -O1, AddressSanitizer
# (with LeakSanitizer) and UndefinedBehaviorSanitizer on everything, and the
# libFuzzer target record_fuzz, whose libraries also get coverage feedback
# (-fsanitize=fuzzer-no-link). scripts/sanitize.sh runs the unit tests from it
# and scripts/fuzz.sh the fuzzer, so the project is compiled once for both:
# two trees (GCC for the sanitizers, clang for the fuzzer) cost 1,637 s of a
# 40-minute CI run here, most of it after the other tests had ended (2026-12-05).
# Prints the directory.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build-check
if [[ ! -f $dir/CMakeCache.txt ]]; then
  generator=()
  command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
  # Debug with -O1: assertions stay on; -O1 is what libFuzzer recommends.
  # Line tables only (-g1): all a report needs (file and line, inlined frames).
  cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DCMAKE_C_FLAGS_DEBUG="-O1 -g1" \
    -DWIJKPULS_SANITIZE=ON -DWIJKPULS_FUZZ=ON -DWIJKPULS_BENCH=OFF >&2
fi
echo "$dir"
