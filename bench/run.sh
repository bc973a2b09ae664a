#!/bin/sh
# The wijkpuls benchmark harness: one command, one table (see bench/README.md).
#   bench/run.sh            everything (about 15 minutes on 2 cores; --profile adds 2)
#   bench/run.sh --quick    smaller sizes (about 3 minutes)
#   bench/run.sh --help     the options
exec python3 "$(dirname "$0")/run.py" "$@"
