#!/usr/bin/env bash
# Runs a command with some programs hidden from PATH, to see the suites that need them skip:
#   test/support/without-programs.sh nats-server docker docker-compose -- npx jest test/events.e2e-spec.ts
# PATH becomes one temporary folder of links to every program on it but the hidden ones (a program
# cannot be hidden by dropping its folder: node shares /usr/bin with docker-compose). The folder is
# removed afterwards.
set -euo pipefail
hidden=()
while [[ $# -gt 0 && $1 != -- ]]; do hidden+=("$1"); shift; done
[[ ${1:-} == -- && $# -gt 1 ]] || { echo "usage: $0 PROGRAM... -- COMMAND [ARG...]" >&2; exit 2; }
shift

shim=$(mktemp -d "${TMPDIR:-/tmp}/scanqueue-path-XXXXXX")
trap 'rm -rf "$shim"' EXIT
IFS=: read -ra dirs <<<"$PATH"
for dir in "${dirs[@]}"; do
  [[ -d $dir ]] || continue
  for program in "$dir"/*; do
    name=${program##*/}
    [[ -f $program && -x $program && ! -e $shim/$name ]] || continue
    [[ " ${hidden[*]} " == *" $name "* ]] && continue
    ln -s "$program" "$shim/$name"
  done
done
PATH=$shim "$@"
