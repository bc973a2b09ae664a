#!/usr/bin/env bash
# Command (1): install what is missing, build, and run `wijkpuls demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
exec build/wijkpuls demo "$@"
