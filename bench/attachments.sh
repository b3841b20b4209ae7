#!/usr/bin/env bash
# Attachments and encryption at rest (issue 15), on each engine, server and
# client on this machine, local attachment store, everything encrypted:
#
#   1. upload a 100 MiB PDF, ROUNDS times: MiB/s and the server's peak RSS
#      growth during each (bench/attachments.py samples /proc every 10 ms)
#   2. download it, ROUNDS times: the same
#   3. 16 concurrent 1 MiB uploads (256 of them): throughput, p50, p99
#   4. GET /detainees/{id} of files whose source_notes are encrypted, wrk,
#      32 connections; with BEFORE=binary, the same on that build (source
#      notes in clear) in the same run, for the ratio
#
#   bash bench/attachments.sh
#   BEFORE=bench/out/sijill-before ENGINES=sqlite ROUNDS=3 bash bench/attachments.sh
#   ONLY_GET=1 BEFORE=… bash bench/attachments.sh    # step 4 alone
#
# Needs python3, wrk, and for PostgreSQL a server at $PG_URL. Loopback only;
# everything stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

ENGINES="${ENGINES:-sqlite postgres}"
ROUNDS="${ROUNDS:-5}"
DURATION="${DURATION:-15s}"
NOTES="${NOTES:-2000}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PASSWORD="bench Harbor lantern 2026"
OUT=bench/out
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
bench_binary
stop_servers_on_exit

big=$OUT/attachment-100mib.pdf
if [ ! -f "$big" ]; then
  { printf '%%PDF-1.7\n'; head -c $((100 * 1024 * 1024 - 9)) /dev/urandom; } >"$big"
fi
size=$(stat -c %s "$big")

median() { python3 -c "import statistics,sys; print(f'{statistics.median(map(float, sys.argv[1:])):.1f}')" "$@"; }
field() { python3 -c "import json,sys; v = json.loads(sys.argv[1])[sys.argv[2]]; print(round(v, 1) if isinstance(v, float) else v)" "$1" "$2"; }

# fresh ENGINE NAME -> sets url, dir (a new database and data directory)
fresh() {
  dir=$(mktemp -d /tmp/sijill-attach-XXXX)
  case $1 in
    sqlite) url="sqlite://$dir/sijill.db" ;;
    postgres)
      db="sijill_attach_$2_$$"
      psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1
      url="$PG_URL/$db" ;;
  esac
}

# serve BINARY NAME -> a demo database served; sets base, token, SERVER_PID
serve() {
  local bin=$1 name=$2
  DATABASE_URL="$url" SIJILL_DATA_DIR="$dir" SIJILL_BOOTSTRAP_ADMIN_PASSWORD="$PASSWORD" RUST_LOG=warn \
    "$bin" migrate >/dev/null
  DATABASE_URL="$url" SIJILL_DATA_DIR="$dir" SIJILL_DEMO_PASSWORD="$PASSWORD" RUST_LOG=warn \
    "$bin" seed-demo >/dev/null
  BIN=$bin start_server "$name" "$url" "$dir"
  base="http://127.0.0.1:$PORT"
  token=$(curl -sf -XPOST "$base/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"username\":\"demo.caseworker\",\"password\":\"$PASSWORD\"}" | json_field access_token)
}

get_notes() {
  local label=$1
  python3 bench/attachments.py notes "$base" "$token" "$NOTES" "$dir/ids.txt"
  IDS_FILE="$dir/ids.txt" TOKEN=$token wrk -t2 -c32 -d"$DURATION" --latency -s bench/get_detainee.lua "$base" \
    >"$OUT/attach-get-$label.txt" 2>"$OUT/attach-get-$label.err"
  echo "   $label: $(wrk_summary "$OUT/attach-get-$label.txt")"
}

for engine in $ENGINES; do
  fresh "$engine" after
  serve "$BIN" "attach-$engine"
  file=$(curl -sf -XPOST "$base/api/v1/detainees" -H "authorization: Bearer $token" \
    -H 'content-type: application/json' -d '{"full_name":"Bench Evidence"}' | json_field id)
  if [ -z "${ONLY_GET:-}" ]; then

  echo "== $engine: upload of $((size / 1048576)) MiB, $ROUNDS rounds (local store, encrypted)"
  ups=() upgrowth=() id=""
  for _ in $(seq 1 "$ROUNDS"); do
    r=$(python3 bench/attachments.py upload "$base" "$token" "$file" "$big" "$SERVER_PID")
    ups+=("$(field "$r" mib_s)"); upgrowth+=("$(field "$r" rss_growth_mib)"); id=$(field "$r" id)
  done
  echo "   MiB/s: ${ups[*]} -> median $(median "${ups[@]}")"
  echo "   server RSS growth (MiB): ${upgrowth[*]} -> median $(median "${upgrowth[@]}")"

  echo "== $engine: download of it, $ROUNDS rounds"
  downs=() downgrowth=()
  for _ in $(seq 1 "$ROUNDS"); do
    r=$(python3 bench/attachments.py download "$base" "$token" "$id" "$size" "$SERVER_PID")
    downs+=("$(field "$r" mib_s)"); downgrowth+=("$(field "$r" rss_growth_mib)")
  done
  echo "   MiB/s: ${downs[*]} -> median $(median "${downs[@]}")"
  echo "   server RSS growth (MiB): ${downgrowth[*]} -> median $(median "${downgrowth[@]}")"

  echo "== $engine: 16 concurrent 1 MiB uploads"
  echo "   $(python3 bench/attachments.py many "$base" "$token" "$file" 16 256 1048576)"
  fi

  echo "== $engine: GET /detainees/{id} with encrypted source_notes, 32 connections, $DURATION"
  get_notes "$engine-encrypted"
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  if [ -z "${ONLY_GET:-}" ]; then
    echo "== $engine: the attachment store verifies"
    DATABASE_URL="$url" SIJILL_DATA_DIR="$dir" RUST_LOG=warn "$BIN" attachments verify 2>&1 | tail -n 1 | sed 's/^/   /'
  fi
  if [ -n "${BEFORE:-}" ]; then
    fresh "$engine" before
    serve "$BEFORE" "attach-$engine-before"
    get_notes "$engine-before-in-clear"
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "$engine" = postgres ]; then
    for side in after before; do
      psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS sijill_attach_${side}_$$ WITH (FORCE)" >/dev/null 2>&1 || true
    done
  fi
  PIDS=()
done
