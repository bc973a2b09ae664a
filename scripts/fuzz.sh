#!/usr/bin/env bash
# Fuzzes the record path for a bounded time: configures and builds the
# libFuzzer target in the check tree build-check/ (clang, ASan+UBSan;
# scripts/configure-check.sh), writes a seed corpus from the simulator, replays the
# committed regression inputs, and fuzzes. By default (CI) the run is
# reproducible: a fixed seed and a fixed number of inputs (WIJKPULS_FUZZ_RUNS,
# default 30000, 1-1.5 minutes here; 60000 took 173 s of a 23-minute CI run on
# 2026-12-01), so a red CI means the same finding on every machine. Set
# WIJKPULS_FUZZ_SECONDS=N to fuzz for N seconds from a random seed instead
# (what to do after touching the record path). Exits non-zero on a crash,
# leak, timeout, out-of-memory, sanitizer report or broken invariant; the input is kept in
# build-check/fuzz/artifacts/ and its path is printed. `--build-only`: configure
# and build, run nothing (scripts/test.sh builds ahead while other tests run).
set -euo pipefail
build_only=false
[[ ${1:-} == --build-only ]] && build_only=true
cd "$(dirname "$0")/.."
root=$(pwd)
dir=$(scripts/configure-check.sh)
seconds=${WIJKPULS_FUZZ_SECONDS:-}
runs=${WIJKPULS_FUZZ_RUNS:-30000}
start=$SECONDS

cmake --build "$dir" -j "$(nproc)" --target record_fuzz
fuzzer=$dir/tests/record_fuzz
echo "fuzz: built in $((SECONDS - start)) s"
if $build_only; then exit 0; fi

work=$dir/fuzz
seeds=$work/seeds
corpus=$work/corpus        # what the fuzzer finds; kept between local runs
artifacts=$work/artifacts  # crash-*, leak-*, timeout-*, oom-* inputs
tmp=$work/tmp              # the fuzzer's RocksDB state directory
rm -rf "$seeds" "$tmp"
mkdir -p "$corpus" "$artifacts" "$tmp"
export TMPDIR=$root/$tmp
# A small quarantine keeps the fuzzer 2-3x faster (fewer fresh pages); each
# input is small, so use-after-free is still caught within an input.
export ASAN_OPTIONS="detect_leaks=1:quarantine_size_mb=16:malloc_context_size=10"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
"$fuzzer" --write-seeds "$seeds"

log=$work/fuzz.log
flags=(-dict=tests/fuzz/record.dict -timeout=10 -rss_limit_mb=2048 -max_len=16384
       -artifact_prefix="$artifacts/" -print_final_stats=1)
status=0
# Inputs that once failed, one run each (a regression fails at once). Open
# findings wait in tests/fuzz/findings/ until they are fixed.
if compgen -G "tests/fuzz/regressions/*" >/dev/null; then
  "$fuzzer" "${flags[@]}" tests/fuzz/regressions/* >"$log" 2>&1 || status=$?
fi
if [[ $status -eq 0 ]]; then
  if [[ -n $seconds ]]; then
    budget=(-max_total_time="$seconds")
    what="${seconds} s from a random seed"
  else
    # Reproducible: a fixed seed, the seeds alone (not the local corpus).
    budget=(-seed=1 -runs="$runs")
    what="$runs inputs from seed 1"
    corpus=""
  fi
  "$fuzzer" "${flags[@]}" "${budget[@]}" ${corpus:+"$corpus"} "$seeds" >"$log" 2>&1 || status=$?
fi
if [[ $status -ne 0 ]]; then
  grep -v -E "^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)" "$log" | tail -n 60
  echo "fuzz: FAILED (exit $status) after $((SECONDS - start)) s; full log: $log" >&2
  grep -h -E "Test unit written to|invariant violated|SUMMARY: " "$log" >&2 || true
  # A regression input that fails again is named by the last "Running:" line.
  for f in $(grep -o -E "Test unit written to [^ ]+" "$log" | awk '{print $5}') \
           $(grep -E "^Running: " "$log" | tail -n 1 | awk '{print $2}'); do
    echo "fuzz: reproduce with: $fuzzer $f" >&2
  done
  exit 1
fi
grep -E "^#[0-9]+[[:space:]]+DONE|^Done|^stat::" "$log" || true
echo "fuzz: no finding in $what ($((SECONDS - start)) s in all)"
