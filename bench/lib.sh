# Helpers shared by the benchmark scripts (sourced, not run).

# bench_binary: BIN is $SIJILL_BIN (another build, for an A/B comparison
# of two commits) or this checkout's release build, built first.
bench_binary() {
  if [ -n "${SIJILL_BIN:-}" ]; then BIN=$SIJILL_BIN; else cargo build --release --quiet; BIN=target/release/sijill; fi
}

# stop_servers: stop every process a script added to PIDS (start_server
# does), and wait for them.
stop_servers() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }

# stop_servers_on_exit: stop_servers when the script ends, however it ends.
stop_servers_on_exit() {
  PIDS=()
  trap stop_servers EXIT
}

json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }

# wrk_summary FILE -> "N req/s  p50 … ms  p99 … ms [non-2xx N]"
wrk_summary() {
  python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def ms(v):
    n, unit = re.match(r"([\d.]+)(us|ms|s)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = ms(re.search(r"\s50%\s+(\S+)", text).group(1))
p99 = ms(re.search(r"\s99%\s+(\S+)", text).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(f"{rps:.0f} req/s  p50 {p50:.2f} ms  p99 {p99:.2f} ms" + (f"  non-2xx {non2xx.group(1)}" if non2xx else ""))
PY
}

# listening_port LOG [SECONDS] -> the port the server writing LOG listens on;
# fails after SECONDS (default 10) without one.
listening_port() {
  local log=$1 tenths=$(( ${2:-10} * 10 )) port
  for _ in $(seq 1 "$tenths"); do
    port=$(sed -n 's/^sijill: listening on http:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$log" 2>/dev/null)
    [ -n "$port" ] && { echo "$port"; return 0; }
    sleep 0.1
  done
  return 1
}

# start_server NAME DATABASE_URL DATA_DIR [LOG] -> sets PORT and SERVER_PID,
# adds the server to PIDS. Uses BIN, PASSWORD and OUT; LOG defaults to
# $OUT/NAME.log. START_WAIT: seconds to wait for it (default 10).
start_server() {
  local name=$1 url=$2 dir=$3 log=${4:-$OUT/$1.log}
  rm -f "$log" # not an earlier run's port
  DATABASE_URL="$url" SIJILL_DATA_DIR="$dir" SIJILL_BIND=127.0.0.1:0 \
    SIJILL_BOOTSTRAP_ADMIN_PASSWORD="$PASSWORD" SIJILL_WORKERS=2 SIJILL_DB_POOL_SIZE=4 \
    SIJILL_LOGIN_MAX_FAILURES_PER_CLIENT=100000 RUST_LOG=warn \
    "$BIN" serve >"$log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  PORT=$(listening_port "$log" "${START_WAIT:-10}") || { echo "server $name did not start" >&2; cat "$log" >&2; exit 1; }
}
