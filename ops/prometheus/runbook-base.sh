#!/bin/sh
# Points the alert rules' runbook_url at a deployment's own copy of the runbook.
#
#   runbook-base.sh BASE_URL [RULES_FILE] > RULES
#
# The rules as shipped (ops/prometheus/wijkpuls-alerts.yml, the Kubernetes
# PrometheusRule, /usr/share/wijkpuls/prometheus/ from the package) name the
# packaged runbook, file:///usr/share/doc/wijkpuls/runbook.md#<alert>, which a
# browser opens only on a machine with the package. At deploy time, render
# them with the address where the operators read the runbook (an intranet web
# server, a wiki page of ops/runbook.md): every runbook_url becomes
# BASE_URL#<alert>. Reads RULES_FILE (or standard input), writes standard
# output; exit 2 on a bad argument, 1 when the input names no runbook.
set -eu
default='file:///usr/share/doc/wijkpuls/runbook.md'
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 BASE_URL [RULES_FILE] > RULES" >&2
  exit 2
fi
base=$1
case $base in
  https://?* | http://?* | file:///?*) ;;
  *)
    echo "$0: BASE_URL must start with https://, http:// or file:///: '$base'" >&2
    exit 2
    ;;
esac
case $base in
  *[!A-Za-z0-9._~:/?@!\$\&\(\)*+,\;=%-]*)
    echo "$0: BASE_URL may not contain spaces, quotes, '#' or '|': '$base'" >&2
    exit 2
    ;;
esac
input=$(cat "${2:-/dev/stdin}")
count=$(printf '%s\n' "$input" | grep -c "runbook_url: \"$default#" || true)
if [ "$count" -eq 0 ]; then
  echo "$0: no runbook_url of $default in the input" >&2
  exit 1
fi
printf '%s\n' "$input" | sed "s|runbook_url: \"$default#|runbook_url: \"$base#|"
