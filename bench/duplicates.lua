-- GET /detainees/{id}/duplicates for random ids from $IDS_FILE, with a token ($TOKEN).
local ids = {}
local token = os.getenv("TOKEN")
for line in io.lines(os.getenv("IDS_FILE")) do
  ids[#ids + 1] = line:match("([%x-]+)%s*$")
end
math.randomseed(os.time() + math.floor(os.clock() * 1e6))
local headers = {["Authorization"] = "Bearer " .. token}

request = function()
  local id = ids[math.random(1, #ids)]
  return wrk.format("GET", "/api/v1/detainees/" .. id .. "/duplicates", headers)
end

response = function(status)
  if status ~= 200 then io.stderr:write("unexpected status " .. status .. "\n") end
end

done = function(summary, latency, requests)
  io.write(string.format("percentiles_ms p50 %.2f p95 %.2f p99 %.2f max %.2f\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
