#!/usr/bin/env bash
# Soak (issue 10): steady mixed load — reads, writes, searches and review steps
# — at a fixed request rate well below saturation, for SOAK_SECONDS on each
# engine; the server's RSS and the window's p50/p99 sampled every
# SAMPLE_SECONDS. Flat memory is the target. A benchmark, not part of CI.
# Loopback only; everything stops by itself and is cleaned up (servers
# stopped, the PostgreSQL database dropped, the data directory removed),
# Ctrl-C included.
#
#   bash bench/soak.sh                             # both engines, 600 s each
#   ENGINES=sqlite SOAK_SECONDS=60 SAMPLE_SECONDS=10 bash bench/soak.sh
#   SIJILL_BIN=/tmp/sijill-old bash bench/soak.sh  # a given binary (else cargo build --release)
#
# Settings: ENGINES (sqlite postgres), SOAK_SECONDS (600), SAMPLE_SECONDS (30),
# SOAK_RATE (50 requests/s in all), SOAK_FILES (2000, seeded with seed-demo),
# PG_URL (postgres://postgres@127.0.0.1:5432), KEEP_DIR=1 keeps the data
# directories. Needs python3 (standard library only; the load generator is
# bench/soak.py), curl, and psql for PostgreSQL.
# Per engine: a line per sample, then a summary; bench/out/soak-ENGINE.csv
# (the samples), bench/out/soak-ENGINE.txt (the summary),
# bench/out/soak-ENGINE.log (the server's log).
# Exit status: non-zero if any request was answered 5xx or not at all, if the
# server died, or if `sijill audit verify` failed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

ENGINES="${ENGINES:-sqlite postgres}"
SOAK_SECONDS="${SOAK_SECONDS:-600}"
SAMPLE_SECONDS="${SAMPLE_SECONDS:-30}"
SOAK_RATE="${SOAK_RATE:-50}"
SOAK_FILES="${SOAK_FILES:-2000}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PASSWORD="bench Harbor lantern 2026"
OUT=bench/out
mkdir -p "$OUT"

# SIJILL_BIN=path runs another build (an A/B comparison of two commits).
bench_binary
case $BIN in /*) ;; *) BIN="$PWD/$BIN" ;; esac

PIDS=()       # servers
GEN=""        # the load generator
DIRS=()       # data directories
DBS=()        # PostgreSQL databases
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$GEN" ] && kill -0 "$GEN" 2>/dev/null; then
    kill -TERM "$GEN" 2>/dev/null || true   # it prints what it measured so far
    for _ in $(seq 1 50); do kill -0 "$GEN" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$GEN" 2>/dev/null || true
  fi
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for db in "${DBS[@]:-}"; do
    [ -n "$db" ] && psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  if [ -z "${KEEP_DIR:-}" ]; then
    for d in "${DIRS[@]:-}"; do [ -n "$d" ] && rm -rf "$d"; done
  else
    echo "data directories kept: ${DIRS[*]:-}"
  fi
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM


failed=0
for engine in $ENGINES; do
  dir=$(mktemp -d /tmp/sijill-soak-XXXX)
  DIRS+=("$dir")
  case $engine in
    sqlite) url="sqlite://$dir/sijill.db" ;;
    postgres)
      db="sijill_soak_$$"
      DBS+=("$db")
      PGOPTIONS="-c client_min_messages=warning" psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
      url="$PG_URL/$db" ;;
    *) echo "unknown engine $engine (sqlite or postgres)" >&2; exit 2 ;;
  esac

  echo "== $engine: seeding $SOAK_FILES files, two review boards and a families' association"
  export DATABASE_URL="$url" SIJILL_DATA_DIR="$dir" RUST_LOG=warn SIJILL_BOOTSTRAP_ADMIN_PASSWORD="$PASSWORD"
  SIJILL_DEMO_PASSWORD="$PASSWORD" "$BIN" seed-demo --files "$SOAK_FILES" \
    --ids-out "$dir/ids.txt" --queries-out "$dir/queries.txt" --queries 1000 >/dev/null
  "$BIN" organization create --name "Soak Review Board A" --kind independent_review >/dev/null
  "$BIN" organization create --name "Soak Review Board B" --kind independent_review >/dev/null
  "$BIN" organization create --name "Soak Families Association" --kind family_association >/dev/null
  for u in "soak.reviewer.a1 reviewer Soak Review Board A" "soak.reviewer.a2 reviewer Soak Review Board A" \
           "soak.reviewer.b reviewer Soak Review Board B" "soak.family family_representative Soak Families Association"; do
    read -r name role org <<<"$u"
    printf '%s' "$PASSWORD" | "$BIN" user create --username "$name" --display-name "$name" --role "$role" \
      --organization "$org" --password-stdin >/dev/null
  done
  unset DATABASE_URL SIJILL_DATA_DIR

  start_server "$engine" "$url" "$dir" "$OUT/soak-$engine.log"
  echo "== $engine: soak, $SOAK_SECONDS s at $SOAK_RATE requests/s, a sample every $SAMPLE_SECONDS s (server pid $SERVER_PID)"
  rc=0
  python3 bench/soak.py --base "http://127.0.0.1:$PORT" --engine "$engine" --pid "$SERVER_PID" --db "$url" \
    --ids "$dir/ids.txt" --queries "$dir/queries.txt" --password "$PASSWORD" \
    --seconds "$SOAK_SECONDS" --sample "$SAMPLE_SECONDS" --rate "$SOAK_RATE" \
    --csv "$OUT/soak-$engine.csv" --summary "$OUT/soak-$engine.txt" &
  GEN=$!
  wait "$GEN" || rc=$?
  GEN=""
  [ "$rc" -eq 130 ] && exit 130
  [ "$rc" -ne 0 ] && failed=1

  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "   !!! the $engine server died during the soak; the end of its log:"
    tail -n 20 "$OUT/soak-$engine.log" | sed 's/^/   !!! /'
    failed=1
  else
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  fi
  # RUST_LOG=warn: anything after the start-up line is a warning or an error.
  log_lines=$(grep -vc '^sijill: listening on' "$OUT/soak-$engine.log" || true)
  if [ "$log_lines" -eq 0 ]; then
    echo "   server log ($OUT/soak-$engine.log): no warning or error"
  else
    echo "   server log ($OUT/soak-$engine.log): $log_lines lines of warnings or errors; the last:"
    tail -n 5 "$OUT/soak-$engine.log" | cut -c1-300 | sed 's/^/     /'
  fi
  echo "== $engine: audit chain after the soak"
  if ! DATABASE_URL="$url" SIJILL_DATA_DIR="$dir" RUST_LOG=warn "$BIN" audit verify | sed 's/^/   /'; then
    echo "   !!! audit verify failed"; failed=1
  fi
  PIDS=()
  if [ "$engine" = postgres ]; then
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
done
if [ "$failed" -ne 0 ]; then
  echo "!!! soak FAILED: see the lines marked !!! above" >&2
  exit 1
fi
