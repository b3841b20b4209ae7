#!/usr/bin/env bash
# Imports at the article's scale (issue 12), on each engine: the generated
# 136,614-row corpus (scripts/import_corpus.py: Arabic headers, dates in
# mixed forms, unreadable values, people twice, references of an earlier
# import) into the demo organisation holding EXISTING synthetic files,
# duplicate detection on, mode=skip_invalid. The seeded database is kept
# (a copy of the SQLite file; a PostgreSQL template database), so that the
# CLI and the HTTP import each start from the same EXISTING files:
#
#   1. `sijill import earlier.csv` (the earlier import the corpus refers to)
#   2. `sijill import corpus.csv`, timed, peak memory sampled
#   3. the same again: every valid row unchanged
#   4. the seeded database restored, earlier.csv imported again; then
#      POST /imports of corpus.csv on an otherwise idle server, timed from
#      the upload to the job's end, the server's memory sampled
#   5. the same upload again: unchanged
#   6. GET /detainees/{id} under wrk on the idle server, then during a
#      first import of the corpus under other references (POST /imports,
#      now against EXISTING + 136,614 files): p99 during ÷ idle, at all
#      the load the server takes and at a rate it keeps up with (each
#      connection pausing 4 ms after each answer); then POST /detainees
#      at a caseworker's pace (2 connections pausing 100 ms), idle and
#      while the import still runs: what writers wait for its batches,
#      alone and with GET at all the load the server takes beside them
#   7. `sijill audit verify`
#
#   bash bench/import.sh                          # both engines
#   ENGINES=sqlite EXISTING=20000 ROWS=20000 bash bench/import.sh
#   STEPS=load ENGINES=postgres bash bench/import.sh   # only step 6 (and 7)
#
# Diagnosis on PostgreSQL: PG_WAITS=1 samples what its sessions wait on
# while GET and POST run beside the import; PG_STATEMENTS=1 prints the
# database's time by statement during the CLI's import of the corpus and
# during the load step's (needs pg_stat_statements in
# shared_preload_libraries).
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
# Which of: cli (steps 1-3), http (4-5), load (6); 7 always.
STEPS="${STEPS:-cli http load}"
step() { [[ " $STEPS " == *" $1 "* ]]; }
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PASSWORD="bench Harbor lantern 2026"
OUT=bench/out
mkdir -p "$OUT"
bench_binary
stop_servers_on_exit

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
    --report "$OUT/report.csv" 2>&1 | sed -n 's/^sijill: import [^ ]* /   sijill import: /p; s/^sijill[^ :]* \(import\)\{0,1\}[^:]*: \([0-9.]* s;.*\)/   (process: \2)/p'
}

# http_import FILE TOKEN [POLL] -> POST /imports, waits for the job
# (asking every POLL seconds, default 0.2); prints it.
http_import() {
  local file=$1 token=$2 poll=${3:-0.2} api="http://127.0.0.1:$PORT/api/v1" job status start
  start=$(date +%s.%N)
  job=$(curl -sf -XPOST "$api/imports?mode=skip_invalid" -H "Authorization: Bearer $token" \
    -H 'content-type: text/csv' --data-binary "@$file" | json_field id)
  while :; do
    status=$(curl -sf "$api/imports/$job" -H "Authorization: Bearer $token" | json_field status)
    case $status in succeeded|failed|cancelled) break ;; esac
    sleep "$poll"
  done
  curl -sf "$api/imports/$job" -H "Authorization: Bearer $token" | python3 -c "
import json, sys
j = json.load(sys.stdin); start = float(sys.argv[1]); end = float(sys.argv[2])
print(f\"   POST /imports: {j['status']} in {end - start:.1f} s (upload to finish): {j['rows_done']} rows, {j['created']} created, {j['updated']} updated, {j['unchanged']} unchanged, {j['invalid']} invalid, {j['possible_duplicates']} possible duplicates; paused {j.get('yielded_ms', 0) / 1000:.1f} s while others were served\")
" "$start" "$(date +%s.%N)"
  touch "$OUT/import.done"
}

# sqlite_checkpoint FILE: the WAL written into the file, so a copy is whole.
sqlite_checkpoint() {
  python3 -c "import sqlite3,sys; sqlite3.connect(sys.argv[1]).execute('PRAGMA wal_checkpoint(TRUNCATE)')" "$1"
}

# pg_waits URL SECONDS: every active session's wait, sampled every 20 ms,
# counted by wait and statement. A psql every 20 ms takes some of the
# cores from what it watches: a diagnosis, not a measurement.
pg_waits() {
  local end=$((SECONDS + $2))
  while [ $SECONDS -lt "$end" ]; do
    psql "$1" -XAtc "SELECT coalesce(wait_event_type, 'CPU') || '/' || coalesce(wait_event, '-') || ' ' || left(regexp_replace(query, '\s+', ' ', 'g'), 50) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()" || true
    sleep 0.02
  done | sort | uniq -c | sort -rn | head -25
}

# PG_STATEMENTS=1: the database time of each statement during an import
# (needs pg_stat_statements in shared_preload_libraries): counted from
# pg_statements_reset, printed by pg_statements_print.
pg_statements_reset() {
  if [ "$engine" = postgres ] && [ "${PG_STATEMENTS:-}" = 1 ]; then
    psql "$url" -qXc "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" \
      -c "SELECT pg_stat_statements_reset()" >/dev/null ||
      echo "   (PG_STATEMENTS: pg_stat_statements is not loaded, or this user may not create it)"
  fi
}
pg_statements_print() {
  if [ "$engine" = postgres ] && [ "${PG_STATEMENTS:-}" = 1 ]; then
    echo "   the database's time by statement, from the import's start:"
    psql "$url" -XAt -F ' | ' -c "SELECT round(total_exec_time)::bigint || ' ms', calls, rows, left(regexp_replace(query, '\s+', ' ', 'g'), 90) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY total_exec_time DESC LIMIT 25" | sed 's/^/     /'
  fi
}

# restore ENGINE DIR: the database as seeded (the server stopped).
restore() {
  case $1 in
    sqlite) cp "$2/seeded.db" "$2/sijill.db"; rm -f "$2/sijill.db-wal" "$2/sijill.db-shm" ;;
    postgres)
      psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
        -c "CREATE DATABASE $db TEMPLATE ${db}_seeded" >/dev/null ;;
  esac
}

for engine in $ENGINES; do
  dir=$(mktemp -d /tmp/sijill-import-XXXX)
  case $engine in
    sqlite) url="sqlite://$dir/sijill.db" ;;
    postgres)
      db="sijill_import_$$"
      psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "DROP DATABASE IF EXISTS ${db}_seeded" \
        -c "CREATE DATABASE $db" >/dev/null 2>&1
      url="$PG_URL/$db" ;;
  esac
  export DATABASE_URL="$url" SIJILL_DATA_DIR="$dir" RUST_LOG=warn SIJILL_MFA_REQUIRED_ROLES=
  echo "== $engine: seeding $EXISTING files"
  SIJILL_BOOTSTRAP_ADMIN_PASSWORD="$PASSWORD" "$BIN" migrate >/dev/null
  SIJILL_DEMO_PASSWORD="$PASSWORD" "$BIN" seed-demo --files "$EXISTING" --ids-out "$OUT/ids.txt" >/dev/null
  # The synthetic files' names are indexed by the server's start-up.
  START_WAIT=900 start_server "import-$engine" "$url" "$dir"
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  PIDS=()
  case $engine in
    sqlite) sqlite_checkpoint "$dir/sijill.db"; cp "$dir/sijill.db" "$dir/seeded.db" ;;
    postgres) psql "$PG_URL/postgres" -qc "CREATE DATABASE ${db}_seeded TEMPLATE $db" >/dev/null ;;
  esac
  if step cli; then
    echo "== $engine: CLI"
    cli_import "$OUT/corpus/earlier.csv" >/dev/null
    pg_statements_reset
    cli_import "$OUT/corpus/corpus.csv"
    pg_statements_print
    python3 bench/import_recall.py "$OUT/report.csv" "$OUT/corpus" | sed 's/^/   /'
    echo "   again:"
    cli_import "$OUT/corpus/corpus.csv"
  fi

  restore "$engine" "$dir"
  cli_import "$OUT/corpus/earlier.csv" >/dev/null
  start_server "import-$engine" "$url" "$dir"
  token=$(login demo.caseworker)
  if step http; then
    echo "== $engine: HTTP, the same import from the same seeded files, the server otherwise idle"
    rm -f "$OUT/import.done"
    python3 bench/run_sampled.py --pid "$SERVER_PID" --until "$OUT/import.done" | sed 's/^/   server /' &
    sampler=$!
    http_import "$OUT/corpus/corpus.csv" "$token"
    wait "$sampler"
    echo "   again:"
    http_import "$OUT/corpus/corpus.csv" "$token"
  fi

  if step load; then
    echo "== $engine: GET /detainees/{id} (wrk: 2 threads, 4 connections), idle and during a first import"
    # wrk_get DURATION [PAUSE_MS]: all the server can take, or with each
    # connection pausing PAUSE_MS after each answer (a rate it keeps up with).
    wrk_get() {
      TOKEN=$token IDS_FILE=$OUT/ids.txt DELAY_MS=${2:-} wrk -t2 -c4 -d"$1" --latency \
        -s bench/get_detainee.lua "http://127.0.0.1:$PORT" >"$OUT/wrk-get.txt" 2>/dev/null
      wrk_summary "$OUT/wrk-get.txt"
    }
    # wrk_post DURATION: files created at a caseworker's pace.
    wrk_post() {
      TOKEN=$token DELAY_MS=100 wrk -t2 -c2 -d"$1" --latency \
        -s bench/create_detainee.lua "http://127.0.0.1:$PORT" >"$OUT/wrk-post.txt" 2>/dev/null
      wrk_summary "$OUT/wrk-post.txt"
    }
    echo "   idle, saturating: $(wrk_get 10s)"
    echo "   idle, paused 4 ms: $(wrk_get 10s 4)"
    echo "   POST /detainees, idle, paused 100 ms: $(wrk_post 10s)"
    # Asked every 2 s: the poll (curl and python) runs beside the server
    # and wrk, and would be counted against the import.
    rm -f "$OUT/import.done"
    pg_statements_reset
    http_import "$OUT/corpus/corpus-http.csv" "$token" 2 &
    importer=$!
    sleep 2
    if [ "$engine" = postgres ] && [ "${PG_WAITS:-}" = 1 ]; then
      pg_waits "$url" 12 >"$OUT/pg-waits-get.txt" &
      echo "   during the import, saturating: $(wrk_get 15s)"
      wait $!
      echo "     (what the sessions waited on meanwhile:)"
      sed 's/^/     /' "$OUT/pg-waits-get.txt"
    else
      echo "   during the import, saturating: $(wrk_get 15s)"
    fi
    echo "   during the import, paused 4 ms: $(wrk_get 15s 4)"
    # PG_WAITS=1: what PostgreSQL's sessions wait on meanwhile, sampled.
    if [ "$engine" = postgres ] && [ "${PG_WAITS:-}" = 1 ]; then
      pg_waits "$url" 10 >"$OUT/pg-waits.txt" &
    fi
    echo "   POST /detainees during the import, paused 100 ms: $(wrk_post 10s)$([ -e "$OUT/import.done" ] && echo ' (the import ended before this did)')"
    if [ "$engine" = postgres ] && [ "${PG_WAITS:-}" = 1 ]; then
      wait $!
      sed 's/^/     /' "$OUT/pg-waits.txt"
    fi
    # Writers and readers at once: the import's locks are held by a
    # process the readers leave little of the cores to.
    wrk_get 10s >/dev/null &
    echo "   POST /detainees during the import, GET saturating beside it: $(wrk_post 10s)$([ -e "$OUT/import.done" ] && echo ' (the import ended before this did)')"
    wait $!
    wait "$importer"
    pg_statements_print
  fi
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  PIDS=()
  echo "   $("$BIN" audit verify 2>&1 | tail -1)"
  if [ "$engine" = postgres ]; then
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
      -c "DROP DATABASE IF EXISTS ${db}_seeded" >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
done
