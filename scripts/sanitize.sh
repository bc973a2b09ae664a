#!/usr/bin/env bash
# The unit tests under AddressSanitizer (with LeakSanitizer) and
# UndefinedBehaviorSanitizer, from the check tree build-check/ (clang, -O1;
# scripts/configure-check.sh): the unit test binaries and the wijkpuls binary
# that app_test runs. Fails on a failing test and on any sanitizer report, also
# one of a child process (app_test runs the binary): every report is also
# written to build-check/sanitizer-logs/. The unit tests run here only, not
# in build/ too (scripts/test.sh).
# `--build-only`: configure and build, also the fuzzer (scripts/fuzz.sh), and
# run nothing (scripts/test.sh builds ahead while other tests run).
set -euo pipefail
build_only=false
[[ ${1:-} == --build-only ]] && build_only=true
cd "$(dirname "$0")/.."
root=$(pwd)
start=$SECONDS
dir=$(scripts/configure-check.sh)
jobs=$(nproc)

logs=$root/$dir/sanitizer-logs
# Set before the build too: gtest_discover_tests runs the test binaries.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$logs/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan"
# No leak suppressions: the unit tests and the binary exit without a leak
# report, from wijkpuls or from librdkafka, protobuf and RocksDB.
mkdir -p "$logs"
rm -f "$logs"/*

# Any log file is a report (ASan, LSan or UBSan), whoever wrote it.
reports() {
  local found=1
  for f in "$logs"/*; do
    [[ -f $f ]] || continue
    echo "==== sanitizer report $f" >&2
    cat "$f" >&2
    found=0
  done
  return $found
}

# The unit test binaries and the binary. The list is read from tests/CMakeLists.txt
# (every wijkpuls_test with LABELS unit), so that a renamed or new test
# binary cannot fall out of it (ingest_test, gone with the folder split, did).
mapfile -t unit_tests < <(sed -nE 's/^wijkpuls_test\(([a-z_]+) LABELS unit\b.*/\1/p' tests/CMakeLists.txt)
if [[ ${#unit_tests[@]} -lt 5 ]]; then
  echo "sanitize: found only ${#unit_tests[@]} unit test binaries in tests/CMakeLists.txt" >&2
  exit 1
fi
status=0
targets=(wijkpuls "${unit_tests[@]}")
$build_only && targets+=(record_fuzz)
cmake --build "$dir" -j "$jobs" --target "${targets[@]}" || status=$?
echo "sanitize: built in $((SECONDS - start)) s"
if $build_only; then exit $status; fi
if [[ $status -eq 0 ]]; then
  ctest --test-dir "$dir" -L unit --output-on-failure -j "$jobs" --timeout 900 || status=$?
fi
if reports; then status=1; fi
if [[ $status -ne 0 ]]; then
  echo "sanitize: FAILED after $((SECONDS - start)) s (reports above; logs in $logs)" >&2
  exit 1
fi
echo "sanitize: unit tests pass under ASan+UBSan ($((SECONDS - start)) s)"
