#!/usr/bin/env bash
# Start an S3-compatible server on this machine for the test suite: moto in
# server mode, from PyPI, in a virtualenv of its own (target/moto-venv), on
# 127.0.0.1. Prints the settings the tests read, as `export` lines, for the
# caller to eval; the server's pid is in target/moto.pid (kill it after).
#
#   eval "$(bash scripts/s3-test-server.sh)"
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION=5.2.5
VENV="${MOTO_VENV:-target/moto-venv}"
PORT="${MOTO_PORT:-5055}"
BUCKET=sijill-test

if [ ! -x "$VENV/bin/moto_server" ] || [ "$("$VENV/bin/pip" show moto 2>/dev/null | sed -n 's/^Version: //p')" != "$MOTO_VERSION" ]; then
  echo "s3: installing moto $MOTO_VERSION into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
fi

mkdir -p target
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >target/moto.log 2>&1 &
echo $! >target/moto.pid
endpoint="http://127.0.0.1:$PORT"
# Up, and the bucket made (moto accepts any credentials).
"$VENV/bin/python" - "$endpoint" "$BUCKET" >&2 <<'PY'
import sys, time, urllib.request
endpoint, bucket = sys.argv[1], sys.argv[2]
for attempt in range(100):
    try:
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/{bucket}", method="PUT"), timeout=2)
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit(f"s3: FAILED: moto did not answer at {endpoint}")
print(f"s3: moto answers at {endpoint}, bucket {bucket}")
PY
cat <<ENV
export SIJILL_TEST_S3_BUCKET=$BUCKET
export AWS_ENDPOINT=$endpoint
export AWS_ALLOW_HTTP=true
export AWS_ACCESS_KEY_ID=sijill-test
export AWS_SECRET_ACCESS_KEY=sijill-test
export AWS_REGION=us-east-1
ENV
