#!/usr/bin/env bash
# Load benchmarks for case records (issue 3). Server, load generator and
# database share this machine; everything targets 127.0.0.1 and stops by itself.
#
#   bash bench/records.sh                      # both engines, 100,000 files
#   FILES=20000 ENGINES=postgres bash bench/records.sh
#
# Needs wrk, curl, python3, and for PostgreSQL a server at $PG_URL plus pgbench.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

DURATION="${DURATION:-15s}"
ENGINES="${ENGINES:-sqlite postgres}"
FILES="${FILES:-100000}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PASSWORD="bench Harbor lantern 2026"
OUT=bench/out
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

# SIJILL_BIN=path runs another build (an A/B comparison of two commits,
# bench/ab.sh) and skips the run without the access log.
if [ -n "${SIJILL_BIN:-}" ]; then
  BIN=$SIJILL_BIN
else
  # A second binary without the access log, only to measure what the log costs.
  cargo build --release --quiet --features unlogged-reads-benchmark-only
  cp target/release/sijill "$OUT/sijill-unlogged"
  cargo build --release --quiet
  BIN=target/release/sijill
fi
stop_servers_on_exit

claim() { python3 -c "import base64,json,sys; p=sys.argv[1].split('.')[1]; p+='='*(-len(p)%4); print(json.loads(base64.urlsafe_b64decode(p))[sys.argv[2]])" "$1" "$2"; }
login() {
  curl -sf -XPOST "http://127.0.0.1:$1/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"username\":\"$2\",\"password\":\"$3\"}" | json_field access_token
}

for engine in $ENGINES; do
  dir=$(mktemp -d /tmp/sijill-records-XXXX)
  case $engine in
    sqlite) url="sqlite://$dir/sijill.db" ;;
    postgres)
      db="sijill_records_$$"
      psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1
      url="$PG_URL/$db" ;;
  esac
  export DATABASE_URL="$url" SIJILL_DATA_DIR="$dir" RUST_LOG=warn
  echo "== $engine: seeding $FILES files (sijill seed-demo --files $FILES)"
  start=$(date +%s.%N)
  SIJILL_BOOTSTRAP_ADMIN_PASSWORD="$PASSWORD" "$BIN" migrate >/dev/null
  SIJILL_DEMO_PASSWORD="$PASSWORD" "$BIN" seed-demo --files "$FILES" --ids-out "$dir/ids.txt" >/dev/null
  echo "   $(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f} s')" "$start" "$(date +%s.%N)")"

  # start BINARY LOG -> sets server, port, base, token
  start() {
    SIJILL_BIND=127.0.0.1:0 SIJILL_BOOTSTRAP_ADMIN_PASSWORD="$PASSWORD" "$1" serve >"$2" 2>&1 &
    server=$!
    PIDS+=("$server")
    port=$(listening_port "$2" 60) || { echo "the server did not start" >&2; cat "$2" >&2; exit 1; }
    base="http://127.0.0.1:$port"
    token=$(login "$port" demo.caseworker "$PASSWORD")
  }

  if [ -z "${SIJILL_BIN:-}" ]; then
    start "$OUT/sijill-unlogged" "$OUT/records-$engine-unlogged.log"
    echo "== $engine: GET /detainees/{id} WITHOUT the access log (benchmark-only build), 32 connections, $DURATION"
    IDS_FILE="$dir/ids.txt" TOKEN=$token wrk -t2 -c32 -d"$DURATION" --latency -s bench/get_detainee.lua "$base" \
      >"$OUT/$engine-get-detainee-unlogged.txt" 2>"$OUT/$engine-get-detainee-unlogged.err"
    echo "   $(wrk_summary "$OUT/$engine-get-detainee-unlogged.txt")"
    kill "$server"; wait "$server" 2>/dev/null || true
  fi

  start "$BIN" "$OUT/records-$engine.log"

  echo "== $engine: GET /detainees/{id}, random ids, 32 connections, $DURATION (access log on)"
  IDS_FILE="$dir/ids.txt" TOKEN=$token wrk -t2 -c32 -d"$DURATION" --latency -s bench/get_detainee.lua "$base" \
    >"$OUT/$engine-get-detainee.txt" 2>"$OUT/$engine-get-detainee.err"
  echo "   $(wrk_summary "$OUT/$engine-get-detainee.txt")"

  for conns in 8 32; do
    echo "== $engine: GET /detainees?status=detained&limit=50, $conns connections, $DURATION"
    wrk -t2 -c$conns -d"$DURATION" --latency -H "Authorization: Bearer $token" \
      "$base/api/v1/detainees?status=detained&limit=50" >"$OUT/$engine-list-$conns.txt"
    echo "   $(wrk_summary "$OUT/$engine-list-$conns.txt")"
  done

  echo "== $engine: POST /detainees, 16 connections, $DURATION"
  TOKEN=$token wrk -t2 -c16 -d"$DURATION" --latency -s bench/create_detainee.lua "$base" \
    >"$OUT/$engine-create.txt" 2>"$OUT/$engine-create.err"
  echo "   $(wrk_summary "$OUT/$engine-create.txt")"
  kill "$server"; wait "$server" 2>/dev/null || true
  echo "== $engine: audit chain after the run"
  "$BIN" audit verify | sed 's/^/   /'
  access=$(python3 - "$engine" "$url" <<'PY'
import sys, subprocess
engine, url = sys.argv[1], sys.argv[2]
sql = "SELECT count(*) FROM access_log"
if engine == "postgres":
    print(subprocess.run(["psql", url, "-Atc", sql], capture_output=True, text=True).stdout.strip())
else:
    import sqlite3
    print(sqlite3.connect(url[len("sqlite://"):]).execute(sql).fetchone()[0])
PY
)
  echo "   access log rows written: $access"

  if [ "$engine" = postgres ]; then
    sid=$(claim "$token" sid); uid=$(claim "$token" sub)
    org=$(psql "$url" -Atc "SELECT organization_id FROM users WHERE id = '$uid'")
    echo "== postgres: pgbench, the same two SELECTs as GET /detainees/{id}, 32 clients, $DURATION"
    pgbench -n -c32 -j2 -T"${DURATION%s}" -D sid="'$sid'" -D uid="'$uid'" -D org="'$org'" \
      -f bench/pgbench_get_detainee.sql "$url" >"$OUT/pgbench-get.txt" 2>&1
    grep -E "^tps|latency average" "$OUT/pgbench-get.txt" | sed 's/^/   /'
    echo "== postgres: pgbench, the same transaction as POST /detainees, 16 clients, $DURATION"
    echo "   (writes placeholder hashes: run after the chain was verified above)"
    pgbench -n -c16 -j2 -T"${DURATION%s}" -D sid="'$sid'" -D uid="'$uid'" -D org="'$org'" \
      -f bench/pgbench_create_detainee.sql "$url" >"$OUT/pgbench-create.txt" 2>&1
    grep -E "^tps|latency average|failed" "$OUT/pgbench-create.txt" | sed 's/^/   /'
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  PIDS=()
done
