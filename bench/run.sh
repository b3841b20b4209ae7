#!/usr/bin/env bash
# Load benchmarks for the trust core (issue 2). Server and load generator share
# this machine; everything targets 127.0.0.1 and stops by itself.
#
#   bash bench/run.sh            # both engines
#   ENGINES=sqlite bash bench/run.sh
#
# Needs: wrk (apt-get install wrk), curl, python3, a release build, and for
# PostgreSQL a server at $PG_URL (default postgres://postgres@127.0.0.1:5432).
# Prints a summary; raw wrk output goes to bench/out/.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

DURATION="${DURATION:-15s}"
ENGINES="${ENGINES:-sqlite postgres}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PASSWORD="bench Harbor lantern 2026"
OUT=bench/out
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

# SIJILL_BIN=path runs another build (an A/B comparison of two commits).
bench_binary
stop_servers_on_exit



login() { # PORT USER PASSWORD -> access token
  curl -sf -XPOST "http://127.0.0.1:$1/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"username\":\"$2\",\"password\":\"$3\"}" | json_field access_token
}


peak_rss_mb() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

for engine in $ENGINES; do
  dir=$(mktemp -d /tmp/sijill-bench-XXXX)
  case $engine in
    sqlite) url="sqlite://$dir/sijill.db" ;;
    postgres)
      db="sijill_bench_$$"
      psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
      url="$PG_URL/$db" ;;
  esac
  start_server "$engine" "$url" "$dir"
  token=$(login "$PORT" admin "$PASSWORD")
  base="http://127.0.0.1:$PORT"

  echo "== $engine: GET /auth/me, 32 connections, $DURATION"
  wrk -t2 -c32 -d"$DURATION" --latency -H "Authorization: Bearer $token" "$base/api/v1/auth/me" >"$OUT/$engine-me.txt"
  echo "   $(wrk_summary "$OUT/$engine-me.txt")"

  echo "== $engine: GET /auth/me, 32 connections, during a login flood (8 connections)"
  wrk -t1 -c8 -d"$DURATION" --latency -s bench/login_flood.lua "$base" >"$OUT/$engine-flood.txt" &
  flood=$!
  sleep 1
  wrk -t2 -c32 -d"$DURATION" --latency -H "Authorization: Bearer $token" "$base/api/v1/auth/me" >"$OUT/$engine-me-flood.txt"
  wait $flood
  echo "   me:     $(wrk_summary "$OUT/$engine-me-flood.txt")"
  echo "   logins: $(wrk_summary "$OUT/$engine-flood.txt")"
  echo "   server peak RSS: $(peak_rss_mb "$SERVER_PID") MB"

  echo "== $engine: GET /auth/me, 32 connections, during a flood of logins for a locked username (8 connections)"
  for _ in 1 2 3 4 5; do
    curl -s -o /dev/null -XPOST "$base/api/v1/auth/login" -H 'content-type: application/json' \
      -d '{"username":"admin","password":"not the right password 1"}'
  done
  wrk -t1 -c8 -d"$DURATION" --latency -s bench/locked_flood.lua "$base" >"$OUT/$engine-locked.txt" &
  flood=$!
  sleep 1
  wrk -t2 -c32 -d"$DURATION" --latency -H "Authorization: Bearer $token" "$base/api/v1/auth/me" >"$OUT/$engine-me-locked.txt"
  wait $flood
  echo "   me:      $(wrk_summary "$OUT/$engine-me-locked.txt")"
  echo "   refused: $(wrk_summary "$OUT/$engine-locked.txt")"

  if [ "$engine" = postgres ]; then
    admin_id=$(curl -sf "$base/api/v1/auth/me" -H "Authorization: Bearer $token" | json_field id)
    echo "== postgres: PATCH /users/{id}, 16 connections, one process"
    USER_ID=$admin_id TOKEN=$token wrk -t2 -c16 -d"$DURATION" --latency -s bench/patch_user.lua "$base" \
      >"$OUT/pg-patch-1.txt" 2>"$OUT/pg-patch-1.err"
    echo "   $(wrk_summary "$OUT/pg-patch-1.txt")"

    first_port=$PORT
    start_server postgres-2 "$url" "$dir"
    echo "== postgres: PATCH /users/{id}, 16 connections split over two processes"
    USER_ID=$admin_id TOKEN=$token wrk -t1 -c8 -d"$DURATION" --latency -s bench/patch_user.lua \
      "http://127.0.0.1:$first_port" >"$OUT/pg-patch-2a.txt" 2>"$OUT/pg-patch-2a.err" &
    a=$!
    USER_ID=$admin_id TOKEN=$token wrk -t1 -c8 -d"$DURATION" --latency -s bench/patch_user.lua \
      "http://127.0.0.1:$PORT" >"$OUT/pg-patch-2b.txt" 2>"$OUT/pg-patch-2b.err"
    wait $a
    echo "   process A: $(wrk_summary "$OUT/pg-patch-2a.txt")"
    echo "   process B: $(wrk_summary "$OUT/pg-patch-2b.txt")"
    echo "== postgres: audit chain after the concurrent writes"
    DATABASE_URL="$url" SIJILL_DATA_DIR="$dir" RUST_LOG=warn "$BIN" audit verify | sed 's/^/   /'
  fi
  stop_servers
  PIDS=()
  if [ "$engine" = postgres ]; then
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
done
