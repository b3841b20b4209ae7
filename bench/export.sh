#!/usr/bin/env bash
# Exports at the article's scale (issue 12): GET /detainees/export as CSV
# and as JSON Lines, `sijill export`, and GET /audit/export, over FILES
# synthetic files, on each engine. Reports files (entries) per second and
# the server's resident memory before and at its peak during each export.
# Server, client and database share this machine; everything targets
# 127.0.0.1 and stops by itself.
#
#   bash bench/export.sh                       # both engines, 236,614 files
#   FILES=20000 ENGINES=sqlite bash bench/export.sh
#
# Needs curl, python3, and for PostgreSQL a server at $PG_URL.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

ENGINES="${ENGINES:-sqlite postgres}"
FILES="${FILES:-236614}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PASSWORD="bench Harbor lantern 2026"
OUT=bench/out
mkdir -p "$OUT"
bench_binary
stop_servers_on_exit

login() {
  curl -sf -XPOST "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"$PASSWORD\"}" | json_field access_token
}
# The server's anonymous resident memory (its heap): what an export could
# grow. File-backed pages (SQLite reads through mmap) are the page cache.
rss_kib() { awk '/^RssAnon/ {print $2}' "/proc/$1/status"; }

# measure LABEL PID COMMAND… -> runs COMMAND (writing $OUT/export.out),
# sampling PID's RSS every 50 ms; prints rows/s and memory.
measure() {
  local label=$1 pid=$2; shift 2
  local before peak=0 start end rows
  before=$(rss_kib "$pid")
  ( while kill -0 "$pid" 2>/dev/null; do rss_kib "$pid"; sleep 0.05; done ) >"$OUT/rss.samples" &
  local sampler=$!
  start=$(date +%s.%N)
  "$@" >"$OUT/export.out"
  end=$(date +%s.%N)
  kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
  peak=$(sort -n "$OUT/rss.samples" | tail -1)
  rows=$(python3 - "$OUT/export.out" <<'PY'
import sys
lines = sum(1 for _ in open(sys.argv[1], encoding="utf-8", newline=""))
print(lines)
PY
)
  python3 - "$label" "$start" "$end" "$rows" "$before" "$peak" "$(stat -c %s "$OUT/export.out")" <<'PY'
import sys
label, start, end, rows, before, peak, size = sys.argv[1:]
seconds = float(end) - float(start)
print(f"   {label}: {int(rows)} lines, {int(size)/1e6:.0f} MB in {seconds:.2f} s = {int(rows)/seconds:,.0f} lines/s; "
      f"server anonymous RSS {int(before)/1024:.0f} MiB before, {int(peak)/1024:.0f} MiB peak (+{(int(peak)-int(before))/1024:.0f} MiB)")
PY
}

for engine in $ENGINES; do
  dir=$(mktemp -d /tmp/sijill-export-XXXX)
  case $engine in
    sqlite) url="sqlite://$dir/sijill.db" ;;
    postgres)
      db="sijill_export_$$"
      psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1
      url="$PG_URL/$db" ;;
  esac
  export DATABASE_URL="$url" SIJILL_DATA_DIR="$dir" RUST_LOG=warn
  # The second factor does not change what an export costs; the auditor
  # logs in with its password alone here.
  export SIJILL_MFA_REQUIRED_ROLES=
  echo "== $engine: seeding $FILES files"
  SIJILL_BOOTSTRAP_ADMIN_PASSWORD="$PASSWORD" "$BIN" migrate >/dev/null
  SIJILL_DEMO_PASSWORD="$PASSWORD" "$BIN" seed-demo --files "$FILES" >/dev/null
  # seed-demo leaves its synthetic files' names to the server's start-up
  # indexing: minutes at this size.
  START_WAIT=900 start_server "export-$engine" "$url" "$dir"
  caseworker=$(login demo.caseworker)
  auditor=$(login demo.auditor)
  api="http://127.0.0.1:$PORT/api/v1"
  echo "== $engine: exports ($((FILES)) synthetic files and the demo's)"
  measure "GET /detainees/export?format=csv" "$SERVER_PID" \
    curl -sfN -H "Authorization: Bearer $caseworker" "$api/detainees/export?format=csv"
  measure "GET /detainees/export?format=jsonl" "$SERVER_PID" \
    curl -sfN -H "Authorization: Bearer $caseworker" "$api/detainees/export?format=jsonl"
  measure "GET /audit/export" "$SERVER_PID" \
    curl -sfN -H "Authorization: Bearer $auditor" "$api/audit/export"
  start=$(date +%s.%N)
  python3 scripts/verify_audit_chain.py --file "$OUT/export.out" | tail -1 | sed 's/^/   offline verification: /'
  python3 -c "import sys; print(f'   (verified in {float(sys.argv[2]) - float(sys.argv[1]):.1f} s)')" "$start" "$(date +%s.%N)"
  start=$(date +%s.%N)
  "$BIN" export --as demo.caseworker --format csv --out "$OUT/cli-export.csv" 2>/dev/null
  python3 -c "import sys; print(f'   sijill export --format csv: {float(sys.argv[2]) - float(sys.argv[1]):.2f} s')" "$start" "$(date +%s.%N)"
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  if [ "$engine" = postgres ]; then
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  PIDS=()
  rm -rf "$dir"
done
