#!/usr/bin/env bash
# Imports at the article's scale (issue 12), on each engine: the generated
# 136,614-row corpus (scripts/import_corpus.py: Arabic headers, dates in
# mixed forms, unreadable values, people twice, references of an earlier
# import) into the demo organisation holding EXISTING synthetic files,
# duplicate detection on, mode=skip_invalid:
#
#   1. `sijill import earlier.csv` (the earlier import the corpus refers to)
#   2. `sijill import corpus.csv`, timed, peak memory sampled
#   3. the same again: every valid row unchanged
#   4. POST /imports of the corpus under other references (a first import
#      over HTTP, now against EXISTING + 136,614 files), timed, the
#      server's memory sampled; meanwhile GET /detainees/{id} under wrk,
#      p99 compared with the same load on the idle server just before
#   5. the same upload again: unchanged
#   6. `sijill audit verify`
#
#   bash bench/import.sh                          # both engines
#   ENGINES=sqlite EXISTING=20000 ROWS=20000 bash bench/import.sh
#
# Needs curl, python3, wrk, and for PostgreSQL a server at $PG_URL. Every
# request targets 127.0.0.1; everything stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

ENGINES="${ENGINES:-sqlite postgres}"
EXISTING="${EXISTING:-100000}"
ROWS="${ROWS:-136614}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PASSWORD="bench Harbor lantern 2026"
OUT=bench/out
mkdir -p "$OUT"
if [ -n "${SIJILL_BIN:-}" ]; then BIN=$SIJILL_BIN; else cargo build --release --quiet; BIN=target/release/sijill; fi
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

echo "== generating the corpus ($ROWS rows)"
python3 scripts/import_corpus.py "$OUT/corpus" --rows "$ROWS" >/dev/null
# The same rows under other references: a first import over HTTP.
sed '2,$ s/^SN-/HT-/' "$OUT/corpus/corpus.csv" >"$OUT/corpus/corpus-http.csv"

login() {
  curl -sf -XPOST "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"$PASSWORD\"}" | json_field access_token
}

# cli_import FILE -> runs `sijill import`, sampled; prints its summary.
cli_import() {
  python3 bench/run_sampled.py -- "$BIN" import "$1" --as demo.caseworker --mode skip_invalid \
    --report "$OUT/report.csv" 2>&1 | sed -n 's/^sijill: import [^ ]* /   sijill import: /p; s/^sijill \(import\)\{0,1\}[^:]*: \([0-9.]* s;.*\)/   (process: \2)/p'
}

# http_import FILE TOKEN -> POST /imports, waits for the job; prints it.
http_import() {
  local file=$1 token=$2 api="http://127.0.0.1:$PORT/api/v1" job status start
  start=$(date +%s.%N)
  job=$(curl -sf -XPOST "$api/imports?mode=skip_invalid" -H "Authorization: Bearer $token" \
    -H 'content-type: text/csv' --data-binary "@$file" | json_field id)
  while :; do
    status=$(curl -sf "$api/imports/$job" -H "Authorization: Bearer $token" | json_field status)
    case $status in succeeded|failed|cancelled) break ;; esac
    sleep 0.2
  done
  curl -sf "$api/imports/$job" -H "Authorization: Bearer $token" | python3 -c "
import json, sys
j = json.load(sys.stdin); start = float(sys.argv[1]); end = float(sys.argv[2])
print(f\"   POST /imports: {j['status']} in {end - start:.1f} s (upload to finish): {j['rows_done']} rows, {j['created']} created, {j['updated']} updated, {j['unchanged']} unchanged, {j['invalid']} invalid, {j['possible_duplicates']} possible duplicates\")
" "$start" "$(date +%s.%N)"
  touch "$OUT/import.done"
}

for engine in $ENGINES; do
  dir=$(mktemp -d /tmp/sijill-import-XXXX)
  case $engine in
    sqlite) url="sqlite://$dir/sijill.db" ;;
    postgres)
      db="sijill_import_$$"
      psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1
      url="$PG_URL/$db" ;;
  esac
  export DATABASE_URL="$url" SIJILL_DATA_DIR="$dir" RUST_LOG=warn SIJILL_MFA_REQUIRED_ROLES=
  echo "== $engine: seeding $EXISTING files"
  SIJILL_BOOTSTRAP_ADMIN_PASSWORD="$PASSWORD" "$BIN" migrate >/dev/null
  SIJILL_DEMO_PASSWORD="$PASSWORD" "$BIN" seed-demo --files "$EXISTING" --ids-out "$OUT/ids.txt" >/dev/null
  # The synthetic files' names are indexed by the server's start-up.
  START_WAIT=900 start_server "import-$engine" "$url" "$dir"
  token=$(login demo.caseworker)
  echo "== $engine: CLI"
  cli_import "$OUT/corpus/earlier.csv" >/dev/null
  cli_import "$OUT/corpus/corpus.csv"
  python3 bench/import_recall.py "$OUT/report.csv" "$OUT/corpus" | sed 's/^/   /'
  echo "   again:"
  cli_import "$OUT/corpus/corpus.csv"
  echo "== $engine: HTTP, with GET /detainees/{id} under load (wrk: 2 threads, 4 connections)"
  wrk_get() {
    TOKEN=$token IDS_FILE=$OUT/ids.txt wrk -t2 -c4 -d"$1" --latency -s bench/get_detainee.lua \
      "http://127.0.0.1:$PORT" >"$OUT/wrk.txt" 2>/dev/null
    wrk_summary "$OUT/wrk.txt"
  }
  echo "   idle: $(wrk_get 10s)"
  rm -f "$OUT/import.done"
  python3 bench/run_sampled.py --pid "$SERVER_PID" --until "$OUT/import.done" | sed 's/^/   server /' &
  sampler=$!
  http_import "$OUT/corpus/corpus-http.csv" "$token" &
  importer=$!
  sleep 2
  echo "   during the import: $(wrk_get 20s)"
  wait "$importer"; wait "$sampler"
  echo "   again:"
  http_import "$OUT/corpus/corpus-http.csv" "$token"
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  PIDS=()
  echo "   $("$BIN" audit verify 2>&1 | tail -1)"
  if [ "$engine" = postgres ]; then
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
done
