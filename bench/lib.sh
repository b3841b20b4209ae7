# Helpers shared by the benchmark scripts (sourced, not run).

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
