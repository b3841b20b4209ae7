#!/usr/bin/env bash
# Load benchmarks for the review workflow (issue 4). Loopback only, bounded.
#   bash bench/reviews.sh        (ENGINES, DURATION, PG_URL as in records.sh)
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
api() { curl -sf "$@"; }

for engine in $ENGINES; do
  dir=$(mktemp -d /tmp/sijill-reviews-XXXX)
  case $engine in
    sqlite) url="sqlite://$dir/sijill.db" ;;
    postgres)
      db="sijill_reviews_$$"
      psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1
      url="$PG_URL/$db" ;;
  esac
  export DATABASE_URL="$url" SIJILL_DATA_DIR="$dir" RUST_LOG=warn SIJILL_BOOTSTRAP_ADMIN_PASSWORD="$PASSWORD"
  SIJILL_DEMO_PASSWORD="$PASSWORD" "$BIN" seed-demo --files 10016 --ids-out "$dir/ids.txt" >/dev/null
  head -n 16 "$dir/ids.txt" > "$dir/cycle-ids.txt"
  tail -n 10000 "$dir/ids.txt" > "$dir/open-ids.txt"
  SIJILL_BIND=127.0.0.1:0 "$BIN" serve >"$OUT/reviews-$engine.log" 2>&1 &
  server=$!; PIDS+=("$server")
  port=$(listening_port "$OUT/reviews-$engine.log" 60) || { echo "the server did not start" >&2; cat "$OUT/reviews-$engine.log" >&2; exit 1; }
  base="http://127.0.0.1:$port"
  login() { api -XPOST "$base/api/v1/auth/login" -H 'content-type: application/json' -d "{\"username\":\"$1\",\"password\":\"$2\"}" | json_field access_token; }
  admin=$(login admin "$PASSWORD")
  cw=$(login demo.caseworker "$PASSWORD")
  board=$(api -XPOST "$base/api/v1/organizations" -H "authorization: Bearer $admin" -H 'content-type: application/json' \
    -d '{"name":"Bench Review Board","kind":"independent_review"}' | json_field id)
  api -XPOST "$base/api/v1/users" -H "authorization: Bearer $admin" -H 'content-type: application/json' \
    -d "{\"username\":\"bench.reviewer\",\"password\":\"$PASSWORD\",\"display_name\":\"Bench Reviewer\",\"role\":\"reviewer\",\"organization_id\":\"$board\"}" >/dev/null
  rev=$(login bench.reviewer "$PASSWORD")

  echo "== $engine: review cycles (open → claim → decide), 16 files in parallel, $DURATION"
  IDS_FILE="$dir/cycle-ids.txt" CASEWORKER=$cw REVIEWER=$rev wrk -t16 -c16 -d"$DURATION" --latency \
    -s bench/review_cycle.lua "$base" >"$OUT/$engine-review-cycle.txt" 2>"$OUT/$engine-review-cycle.err"
  python3 - "$OUT/$engine-review-cycle.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
print(f"   {rps:.0f} requests/s = {rps / 3:.0f} review cycles/s")
PY
  echo "   unexpected statuses: $(wc -l < "$OUT/$engine-review-cycle.err")"

  echo "== $engine: opening 10,000 reviews"
  TOKEN=$cw IDS_FILE="$dir/open-ids.txt" STRIDE=8 wrk -t8 -c8 -d30s -s bench/open_reviews.lua "$base" >"$OUT/$engine-open.txt"
  open_count=$(api "$base/api/v1/reviews?status=open&limit=200" -H "authorization: Bearer $rev" >/dev/null; \
    python3 - "$engine" "$url" <<'PY'
import sys, subprocess
engine, url = sys.argv[1], sys.argv[2]
sql = "SELECT count(*) FROM reviews WHERE status = 'open'"
if engine == "postgres":
    print(subprocess.run(["psql", url, "-Atc", sql], capture_output=True, text=True).stdout.strip())
else:
    import sqlite3
    print(sqlite3.connect(url[len("sqlite://"):]).execute(sql).fetchone()[0])
PY
)
  echo "   open reviews: $open_count"
  for who in reviewer caseworker; do
    token=$rev; [ "$who" = caseworker ] && token=$cw
    for conns in 8 32; do
      echo "== $engine: GET /reviews?status=open (first page of 50) as the $who, $conns connections, $DURATION"
      wrk -t2 -c$conns -d"$DURATION" --latency -H "Authorization: Bearer $token" \
        "$base/api/v1/reviews?status=open" >"$OUT/$engine-reviews-open-$who-$conns.txt"
      echo "   $(wrk_summary "$OUT/$engine-reviews-open-$who-$conns.txt")"
    done
  done
  kill "$server"; wait "$server" 2>/dev/null || true
  echo "== $engine: audit chain"
  "$BIN" audit verify | sed 's/^/   /'
  if [ "$engine" = postgres ]; then
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  PIDS=()
done
