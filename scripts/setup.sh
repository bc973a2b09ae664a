#!/usr/bin/env bash
# Installs the Debian packages wijkpuls needs to build, test and run its demo,
# only those that are missing. Needs root (or sudo) when something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  librdkafka-dev libprotobuf-dev protobuf-compiler librocksdb-dev
  prometheus-cpp-dev libgtest-dev libgmock-dev libbenchmark-dev
  libyaml-cpp-dev nlohmann-json3-dev libspdlog-dev libcli11-dev
  libcpp-httplib-dev libssl-dev libabsl-dev zlib1g-dev tzdata
  kcat curl python3-confluent-kafka
)
# Extra tools for the full test suite (.ci/run): the browser test, the
# Prometheus integration test, the fuzzer and the package checks.
if [[ "${1:-}" == "--test" ]]; then
  packages+=(chromium prometheus clang libclang-rt-14-dev ninja-build systemd dpkg-dev
             file python3 python3-yaml lintian man-db)
  # Node.js may come from another source (e.g. NodeSource, which bundles npm).
  command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup: all ${#packages[@]} packages present"
else
  echo "setup: installing ${missing[*]}"
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The OpenAPI test's validators (tests/openapi/package-lock.json), from the npm registry,
# into tests/openapi/node_modules; not again when the lock file has not changed.
if [[ "${1:-}" == "--test" ]]; then
  here="$(cd "$(dirname "$0")/.." && pwd)/tests/openapi"
  if ! cmp -s "$here/package-lock.json" "$here/node_modules/.package-lock.json.installed" 2>/dev/null; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$here/package-lock.json" "$here/node_modules/.package-lock.json.installed"
  fi
  echo "setup: OpenAPI validators in tests/openapi/node_modules"
fi
