#!/usr/bin/env bash
# An A/B comparison of two release builds on the same machine, in one run:
# each benchmark script runs for build A, then build B, so that both meet the
# same machine state. Loopback only; every step stops by itself.
#
#   bash bench/ab.sh BEFORE_BINARY AFTER_BINARY
#   DURATION=10s FILES=20000 SEARCH_FILES=100000 SCRIPTS="run records" bash bench/ab.sh a b
#
# Prints each script's output under "== A" / "== B" headings; the raw wrk
# output of the last run of each is in bench/out/.
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1 B=$2
export DURATION="${DURATION:-10s}"
for script in ${SCRIPTS:-run records reviews search}; do
  for side in A B; do
    bin=$A; [ "$side" = B ] && bin=$B
    echo "######## $script, build $side ($bin)"
    case $script in
      records) SIJILL_BIN=$bin FILES="${FILES:-20000}" bash bench/records.sh ;;
      search) SIJILL_BIN=$bin FILES="${SEARCH_FILES:-100000}" SKIP_TRGM=1 bash bench/search.sh ;;
      *) SIJILL_BIN=$bin bash "bench/$script.sh" ;;
    esac
  done
done
