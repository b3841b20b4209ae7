#!/usr/bin/env bash
# Name search at scale (issue 5): FILES synthetic files with realistic Syrian
# names (`sijill seed-demo --files`), then POST /detainees/search and
# GET /detainees/{id}/duplicates at 8 connections, on each engine; the time
# to write the files with their name keys, the time to rebuild the name
# index alone, and the database size. On PostgreSQL also pg_trgm on the raw
# names (bench/pg_trgm.sh). Everything targets 127.0.0.1 and stops by itself.
#
#   bash bench/search.sh                           # both engines, 1,000,000 files
#   FILES=100000 ENGINES=sqlite bash bench/search.sh
#   KEEP_DIR=/tmp/sbench SKIP_REBUILD=1 SKIP_TRGM=1 bash bench/search.sh   # rerun on kept data
#
# Needs wrk, curl, python3, and for PostgreSQL a server at $PG_URL plus
# psql and pgbench. Keeps its databases in $KEEP_DIR when set (for reruns).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

DURATION="${DURATION:-20s}"
ENGINES="${ENGINES:-sqlite postgres}"
FILES="${FILES:-1000000}"
CONNECTIONS="${CONNECTIONS:-8}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PASSWORD="bench Harbor lantern 2026"
OUT=bench/out
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

# A copy, so that a build during a long run cannot change the binary under
# it. SIJILL_BIN=path runs another build (an A/B comparison, bench/ab.sh).
if [ -z "${SIJILL_BIN:-}" ]; then cargo build --release --quiet; fi
BIN="$OUT/sijill-search"
cp "${SIJILL_BIN:-target/release/sijill}" "$BIN"
stop_servers_on_exit

seconds_since() { python3 -c "import sys,time; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$1"; }
login() {
  curl -sf -XPOST "http://127.0.0.1:$1/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"username\":\"$2\",\"password\":\"$3\"}" | json_field access_token
}
# start LOG -> sets server, port, base; waits until it listens (after the
# start-up indexing of any unindexed names)
start() {
  SIJILL_BIND=127.0.0.1:0 SIJILL_BOOTSTRAP_ADMIN_PASSWORD="$PASSWORD" "$BIN" serve >"$1" 2>&1 &
  server=$!
  PIDS+=("$server")
  port=""
  for _ in $(seq 1 36000); do
    port=$(sed -n 's/^sijill: listening on http:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$1")
    [ -n "$port" ] && break
    kill -0 "$server" 2>/dev/null || { echo "server exited: $(tail -3 "$1")" >&2; exit 1; }
    sleep 0.1
  done
  base="http://127.0.0.1:$port"
}
sql() {
  case $engine in
    sqlite) python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); [print(*r, sep='|') for r in c.execute(sys.argv[2])]; c.commit()" "$dir/sijill.db" "$1" ;;
    postgres) psql "$url" -Atqc "$1" ;;
  esac
}

for engine in $ENGINES; do
  dir="${KEEP_DIR:-$(mktemp -d /tmp/sijill-search-XXXX)}/$engine"
  mkdir -p "$dir"
  case $engine in
    sqlite) url="sqlite://$dir/sijill.db" ;;
    postgres) url="$PG_URL/sijill_search_bench" ;;
  esac
  export DATABASE_URL="$url" SIJILL_DATA_DIR="$dir" RUST_LOG=warn
  if [ ! -s "$dir/queries.tsv" ]; then
    case $engine in
      sqlite) rm -f "$dir"/sijill.db* ;;
      postgres) psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS sijill_search_bench" -c "CREATE DATABASE sijill_search_bench" >/dev/null 2>&1 ;;
    esac
    echo "== $engine: writing $FILES files with their name keys and audit entries (sijill seed-demo --files $FILES)"
    SIJILL_BOOTSTRAP_ADMIN_PASSWORD="$PASSWORD" "$BIN" migrate >/dev/null
    t0=$(date +%s.%N)
    SIJILL_DEMO_PASSWORD="$PASSWORD" "$BIN" seed-demo --files "$FILES" \
      --ids-out "$dir/ids.txt" --queries-out "$dir/queries.tsv" --queries 2000 >/dev/null
    echo "   $(seconds_since "$t0") s"
    if [ "$engine" = postgres ]; then psql "$url" -qc "VACUUM ANALYZE" >/dev/null; fi
  fi

  echo "== $engine: size"
  case $engine in
    sqlite)
      sql "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
      echo "   database file $(du -m "$dir/sijill.db" | cut -f1) MB"
      sql "SELECT name, round(sum(pgsize) / 1e6) FROM dbstat WHERE name IN ('name_keys', 'detainees', 'audit_log') GROUP BY name" 2>/dev/null \
        | sed 's/^/   table /; s/|/ MB: /; s/$//' || true ;;
    postgres)
      sql "SELECT 'database ' || pg_size_pretty(pg_database_size(current_database()))" | sed 's/^/   /'
      sql "SELECT relname || ' (with indexes) ' || pg_size_pretty(pg_total_relation_size(oid)) FROM pg_class WHERE relname IN ('name_keys', 'detainees', 'audit_log') ORDER BY relname" | sed 's/^/   /' ;;
  esac
  echo "   name_keys rows: $(sql "SELECT count(*) FROM name_keys")"

  if [ -z "${SKIP_REBUILD:-}" ]; then
    echo "== $engine: rebuilding the name index alone (emptied, then rebuilt at start-up)"
    sql "DELETE FROM name_keys" >/dev/null
    sql "UPDATE detainees SET search_keys = NULL" >/dev/null
    t0=$(date +%s.%N)
    start "$OUT/search-$engine.log"
    echo "   $(seconds_since "$t0") s to index every file and listen"
    kill "$server"; wait "$server" 2>/dev/null || true
    # What autovacuum does in a running service: without it every index
    # lookup of the rewritten name_keys also visits the table.
    if [ "$engine" = postgres ]; then psql "$url" -qc "VACUUM ANALYZE" >/dev/null; fi
  fi
  start "$OUT/search-$engine.log"
  token=$(login "$port" demo.caseworker "$PASSWORD")

  # Warm the caches the way a running service has them.
  QUERIES_FILE="$dir/queries.tsv" TOKEN=$token wrk -t2 -c"$CONNECTIONS" -d5s -s bench/search.lua "$base" >/dev/null 2>&1

  echo "== $engine: POST /detainees/search, $CONNECTIONS connections, $DURATION, 2,000 searches in turn"
  QUERIES_FILE="$dir/queries.tsv" TOKEN=$token wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/search.lua "$base" \
    >"$OUT/$engine-search.txt" 2>"$OUT/$engine-search.err"
  echo "   $(wrk_summary "$OUT/$engine-search.txt")  $(grep percentiles_ms "$OUT/$engine-search.txt")"
  [ -s "$OUT/$engine-search.err" ] && echo "   errors: $(sort "$OUT/$engine-search.err" | uniq -c | head -3)"

  echo "== $engine: GET /detainees/{id}/duplicates, random files, $CONNECTIONS connections, $DURATION"
  IDS_FILE="$dir/ids.txt" TOKEN=$token wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/duplicates.lua "$base" \
    >"$OUT/$engine-duplicates.txt" 2>"$OUT/$engine-duplicates.err"
  echo "   $(wrk_summary "$OUT/$engine-duplicates.txt")  $(grep percentiles_ms "$OUT/$engine-duplicates.txt")"
  [ -s "$OUT/$engine-duplicates.err" ] && echo "   errors: $(sort "$OUT/$engine-duplicates.err" | uniq -c | head -3)"

  echo "== $engine: recall on the 2,000 searches (the file searched for, by id)"
  TOKEN=$token python3 bench/search_recall.py sijill "$base" "$dir/queries.tsv" | sed 's/^/   /'
  TOKEN=$token python3 bench/search_recall.py sijill "$base" "$dir/queries.tsv" "${RECALL_SEARCHES:-300}" | sed 's/^/   /'
  kill "$server"; wait "$server" 2>/dev/null || true

  if [ "$engine" = postgres ] && [ -z "${SKIP_TRGM:-}" ]; then
    URL="$url" QUERIES="$dir/queries.tsv" CONNECTIONS="$CONNECTIONS" DURATION="$DURATION" bash bench/pg_trgm.sh
  fi
done
