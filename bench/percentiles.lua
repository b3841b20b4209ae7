-- Shared by the wrk scripts that report p95 (wrk's own --latency has none):
-- `done = dofile("bench/percentiles.lua")` (wrk runs from the repository root).
return function(summary, latency, requests)
  io.write(string.format("percentiles_ms p50 %.2f p95 %.2f p99 %.2f max %.2f\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
