#!/usr/bin/env bash
# The auditor's console with a big log (issue 14), in headless Chromium
# over WebDriver (bench/console.py), server and browser on this machine:
# the first page of the trail, and the whole chain verified in the
# browser. The log is the demo's plus ENTRIES synthetic files' creations
# (one audit entry each), on SQLite.
#
#   bash bench/console.sh                        # 100,000 entries
#   ENTRIES=1000000 ROUNDS=3 bash bench/console.sh
#
# Needs chromium, chromedriver, python3. Loopback only; stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

ENTRIES="${ENTRIES:-100000}"
ROUNDS="${ROUNDS:-5}"
PASSWORD="bench Harbor lantern 2026"
OUT=bench/out
mkdir -p "$OUT"
bench_binary
stop_servers_on_exit

dir=$(mktemp -d /tmp/sijill-console-XXXX)
url="sqlite://$dir/sijill.db"
echo "== seeding $ENTRIES files (one audit entry each)"
start=$(date +%s)
DATABASE_URL="$url" SIJILL_DATA_DIR="$dir" SIJILL_BOOTSTRAP_ADMIN_PASSWORD="$PASSWORD" RUST_LOG=warn "$BIN" migrate >/dev/null
DATABASE_URL="$url" SIJILL_DATA_DIR="$dir" SIJILL_DEMO_PASSWORD="$PASSWORD" RUST_LOG=warn \
  "$BIN" seed-demo --files "$ENTRIES" >/dev/null
echo "   $(( $(date +%s) - start )) s"
# The demo auditor without a second factor, for the measurement only.
export SIJILL_MFA_REQUIRED_ROLES=""
START_WAIT=1800 start_server console "$url" "$dir"
DATABASE_URL="$url" SIJILL_DATA_DIR="$dir" RUST_LOG=warn "$BIN" audit verify >"$OUT/console-verify.txt"
echo "== sijill audit verify: $(head -n 1 "$OUT/console-verify.txt")"
python3 bench/console.py "http://127.0.0.1:$PORT" demo.auditor "$PASSWORD" "$ROUNDS" | sed 's/^/   /'
