#!/usr/bin/env bash
# schemathesis against a release build of the real server: every operation of
# /openapi.json, all checks, as a caseworker and as an auditor, on SQLite and
# (when $SIJILL_FUZZ_PG_URL or $SIJILL_TEST_DATABASE_URL names a server) on
# PostgreSQL. Any failure fails the script.
#
#   bash scripts/fuzz-api.sh                       # SQLite only
#   SIJILL_FUZZ_PG_URL=postgres://postgres@127.0.0.1:5432/postgres bash scripts/fuzz-api.sh
#
# Knobs: FUZZ_MAX_EXAMPLES (per operation and phase, default 50),
# FUZZ_TIME_CAP (seconds per engine and role, default 600; a run that hits
# it fails, so raise it with the examples), SIJILL_BIN (a
# binary to test instead of building one), FUZZ_VENV (where schemathesis is
# installed, default target/fuzz-venv). Reports go to target/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-50}"
TIME_CAP="${FUZZ_TIME_CAP:-600}"
VENV="${FUZZ_VENV:-target/fuzz-venv}"
OUT=target/fuzz
PASSWORD="fuzz Harbor lantern 2026"
mkdir -p "$OUT"

if [ ! -x "$VENV/bin/schemathesis" ] || ! "$VENV/bin/schemathesis" --version | grep -q "$SCHEMATHESIS_VERSION"; then
  echo "fuzz: installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

if [ -n "${SIJILL_BIN:-}" ]; then BIN=$SIJILL_BIN; else cargo build --release --quiet; BIN=target/release/sijill; fi

PG_URL="${SIJILL_FUZZ_PG_URL:-${SIJILL_TEST_DATABASE_URL:-}}"
ENGINES="sqlite"
[ -n "$PG_URL" ] && ENGINES="sqlite postgres"

SERVER_PID=""
DROP_DB=""
DIR=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  [ -n "$DROP_DB" ] && psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $DROP_DB WITH (FORCE)" >/dev/null 2>&1
  [ -n "$DIR" ] && rm -rf "$DIR"
  return 0
}

# The URL of database $2 on the server of URL $1 (its query string kept).
database_url() {
  python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$1" "$2"
}
trap cleanup EXIT

failed=0
for engine in $ENGINES; do
  dir=$(mktemp -d /tmp/sijill-fuzz-XXXX)
  DIR=$dir
  case $engine in
    sqlite) url="sqlite://$dir/sijill.db" ;;
    postgres)
      DROP_DB="sijill_fuzz_$$"
      psql "$PG_URL" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $DROP_DB" >/dev/null
      url=$(database_url "$PG_URL" "$DROP_DB") ;;
  esac
  # Tokens outlive both runs (the default 15 minutes might not).
  export DATABASE_URL="$url" SIJILL_DATA_DIR="$dir" SIJILL_DEMO_PASSWORD="$PASSWORD" \
    SIJILL_BOOTSTRAP_ADMIN_PASSWORD="$PASSWORD" SIJILL_ACCESS_TOKEN_TTL=7200 RUST_LOG=warn
  "$BIN" seed-demo >"$OUT/$engine-seed.log" 2>&1
  # Auditors need a second factor (the default SIJILL_MFA_REQUIRED_ROLES):
  # the demo auditor gets one here, and fuzz_seed.py logs in with its code.
  AUDITOR_TOTP_SECRET=$("$BIN" user mfa-enrol demo.auditor | sed -n 's/^secret: //p')
  [ -n "$AUDITOR_TOTP_SECRET" ] || { echo "fuzz: enrolling demo.auditor failed" >&2; exit 1; }
  log="$OUT/$engine-server.log"
  rm -f "$log" # not the last run's port
  SIJILL_BIND=127.0.0.1:0 "$BIN" serve >"$log" 2>&1 &
  SERVER_PID=$!
  port=$(listening_port "$log") || { echo "fuzz: the $engine server did not start" >&2; cat "$log" >&2; exit 1; }
  base="http://127.0.0.1:$port"

  # A little data beyond the demo's facilities, files and custody: an open review.
  read -r caseworker auditor < <("$VENV/bin/python" scripts/fuzz_seed.py "$base" "$PASSWORD" "$AUDITOR_TOTP_SECRET")

  # POST /auth/logout is left out: it ends the very session the run uses, so
  # every later request would be a 401 (tests/api/auth.rs covers logout).
  for role in caseworker auditor; do
    token=$caseworker; [ "$role" = auditor ] && token=$auditor
    echo "== fuzz: $engine as $role"
    set +e
    # An attachment's body (application/pdf) is drawn by scripts/schemathesis_hooks.py.
    PYTHONPATH=scripts SCHEMATHESIS_HOOKS=schemathesis_hooks \
      timeout --signal=INT "$TIME_CAP" "$VENV/bin/schemathesis" --config-file scripts/schemathesis.toml --no-color \
      run "$base/openapi.json" \
      --checks all \
      --exclude-path /api/v1/auth/logout \
      --header "Authorization: Bearer $token" \
      --max-examples "$MAX_EXAMPLES" \
      --seed 1 \
      --request-timeout 20 \
      --report junit --report-dir "$OUT/$engine-$role" \
      >"$OUT/$engine-$role.txt" 2>&1
    status=$?
    set -e
    # The summary: counts of operations, test cases and failures.
    sed -n '/SUMMARY/,$p' "$OUT/$engine-$role.txt" | head -40 || true
    if [ "$status" -ne 0 ]; then
      echo "fuzz: FAILED: $engine as $role (exit $status); see $OUT/$engine-$role.txt" >&2
      failed=1
    fi
  done
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
  if [ -n "$DROP_DB" ]; then psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $DROP_DB WITH (FORCE)" >/dev/null; DROP_DB=""; fi
  rm -rf "$dir"; DIR=""
done
exit "$failed"
