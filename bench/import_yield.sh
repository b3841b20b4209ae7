#!/usr/bin/env bash
# What yielding (imports::pacing, SIJILL_IMPORT_YIELD) buys PostgreSQL's
# readers, and what each of the import's looks saw: runs alternate between
# the factors in FACTORS (default "3 0": yielding, and not) on one seeded
# database, each run:
#
#   1. GET /detainees/{id} under wrk (2 threads, 4 connections) on the idle
#      server: 10 s saturating, then 10 s with each connection pausing 4 ms
#      after each answer;
#   2. POST /imports of the corpus (the HTTP step of bench/import.sh: an
#      organisation that holds 100,000 files and the corpus's earlier list);
#      8 s alone, then 15 s of saturating GET, 3 s alone, 15 s of paced GET,
#      then the job polled every 0.2 s until it ends;
#   3. one line: the p99 ratios (during / idle), the import's time and its
#      pauses, and how many of its looks saw someone at work, paused, in
#      each phase (from the worker's debug log).
#
#   RUNS=3 bash bench/import_yield.sh          # 3 runs of each factor
#
# Needs curl, python3, wrk and PostgreSQL at $PG_URL; the corpus is
# generated as bench/import.sh does. Everything targets 127.0.0.1 and
# stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

RUNS="${RUNS:-3}"
FACTORS="${FACTORS:-3 0}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PASSWORD="bench Harbor lantern 2026"
OUT=bench/out
mkdir -p "$OUT"
bench_binary
stop_servers_on_exit

if [ ! -e "$OUT/corpus/corpus.csv" ]; then
  python3 scripts/import_corpus.py "$OUT/corpus" --rows 136614 >/dev/null
fi
sed '2,$ s/^SN-/HT-/' "$OUT/corpus/corpus.csv" >"$OUT/corpus/corpus-http.csv"

dir=$(mktemp -d /tmp/sijill-yield-XXXX)
db="sijill_yield_$$"
seeded="${db}_seeded"
cleanup() {
  stop_servers
  psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
    -c "DROP DATABASE IF EXISTS $seeded WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
export SIJILL_DATA_DIR="$dir" SIJILL_MFA_REQUIRED_ROLES=
echo "== seeding 100000 files"
psql "$PG_URL/postgres" -qc "CREATE DATABASE $seeded" >/dev/null
DATABASE_URL="$PG_URL/$seeded" SIJILL_BOOTSTRAP_ADMIN_PASSWORD="$PASSWORD" RUST_LOG=warn "$BIN" migrate >/dev/null
DATABASE_URL="$PG_URL/$seeded" SIJILL_DEMO_PASSWORD="$PASSWORD" RUST_LOG=warn \
  "$BIN" seed-demo --files 100000 --ids-out "$OUT/ids.txt" >/dev/null
# The synthetic files' names are indexed by the server's start-up.
START_WAIT=900 start_server yield-seed "$PG_URL/$seeded" "$dir"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
PIDS=()
DATABASE_URL="$PG_URL/$seeded" RUST_LOG=warn "$BIN" import "$OUT/corpus/earlier.csv" \
  --as demo.caseworker --mode skip_invalid >/dev/null 2>&1

get() { # get SECONDS [PAUSE_MS] -> wrk's summary
  TOKEN=$token IDS_FILE=$OUT/ids.txt DELAY_MS=${2:-} wrk -t2 -c4 -d"$1" --latency \
    -s bench/get_detainee.lua "http://127.0.0.1:$PORT" >"$OUT/wrk-yield.txt" 2>/dev/null
  wrk_summary "$OUT/wrk-yield.txt"
}
now() { date +%s.%N; }

for run in $(seq 1 "$RUNS"); do
  for factor in $FACTORS; do
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
      -c "CREATE DATABASE $db TEMPLATE $seeded" >/dev/null
    log="$OUT/yield-server.log"
    rm -f "$log"
    # Not start_server: the worker inherits the server's RUST_LOG, and its
    # looks are logged at debug.
    DATABASE_URL="$PG_URL/$db" SIJILL_BIND=127.0.0.1:0 SIJILL_WORKERS=2 SIJILL_DB_POOL_SIZE=4 \
      SIJILL_LOGIN_MAX_FAILURES_PER_CLIENT=100000 SIJILL_IMPORT_YIELD="$factor" \
      RUST_LOG=warn,sijill::imports::pacing=debug "$BIN" serve >"$log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    PORT=$(listening_port "$log" 60)
    api="http://127.0.0.1:$PORT/api/v1"
    token=$(curl -sf -XPOST "$api/auth/login" -H 'content-type: application/json' \
      -d "{\"username\":\"demo.caseworker\",\"password\":\"$PASSWORD\"}" | json_field access_token)
    idle_sat=$(get 10s)
    idle_paced=$(get 10s 4)
    start=$(now)
    job=$(curl -sf -XPOST "$api/imports?mode=skip_invalid" -H "Authorization: Bearer $token" \
      -H 'content-type: text/csv' --data-binary "@$OUT/corpus/corpus-http.csv" | json_field id)
    sleep 8
    t_sat=$(now); during_sat=$(get 15s); t_sat_end=$(now)
    sleep 3
    t_paced=$(now); during_paced=$(get 15s 4); t_paced_end=$(now)
    while :; do
      status=$(curl -sf "$api/imports/$job" -H "Authorization: Bearer $token" | json_field status)
      case $status in succeeded|failed|cancelled) break ;; esac
      sleep 0.2
    done
    end=$(now)
    curl -sf "$api/imports/$job" -H "Authorization: Bearer $token" >"$OUT/yield-job.json"
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
    PIDS=()
    python3 - "$factor" "$log" "$OUT/yield-job.json" "$idle_sat" "$idle_paced" "$during_sat" \
      "$during_paced" "$start" "$t_sat" "$t_sat_end" "$t_paced" "$t_paced_end" "$end" <<'PY'
import datetime, json, re, sys
(factor, log, job_file, idle_sat, idle_paced, during_sat, during_paced) = sys.argv[1:8]
start, t_sat, t_sat_end, t_paced, t_paced_end, end = map(float, sys.argv[8:14])
job = json.load(open(job_file))
p99 = lambda s: float(re.search(r"p99 ([\d.]+) ms", s).group(1))
units = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1}
looks = []
for line in open(log):
    m = re.search(r"^(\S+)Z DEBUG an import looked at the database seen=(\w+) pause=([\d.]+)(\D+)$", line.strip())
    if m:
        at = datetime.datetime.fromisoformat(m.group(1)).replace(tzinfo=datetime.timezone.utc).timestamp()
        looks.append((at, m.group(2) == "true", float(m.group(3)) * units[m.group(4)] > 0))
def phase(a, b):
    seen = [l for l in looks if a <= l[0] < b]
    return f"{sum(l[1] for l in seen)}/{sum(l[2] for l in seen)}/{len(seen)}"
print(f"SIJILL_IMPORT_YIELD={factor}: GET p99 saturating {p99(idle_sat):.2f} -> {p99(during_sat):.2f} ms "
      f"({p99(during_sat) / p99(idle_sat):.2f}x), paced {p99(idle_paced):.2f} -> {p99(during_paced):.2f} ms "
      f"({p99(during_paced) / p99(idle_paced):.2f}x); import {job['status']} in {end - start:.1f} s, "
      f"paused {job['yielded_ms'] / 1000:.1f} s; looks seen/paused/all: alone {phase(start, t_sat)}, "
      f"saturating {phase(t_sat, t_sat_end)}, paced {phase(t_paced, t_paced_end)}, polled {phase(t_paced_end, end)}")
PY
  done
done
