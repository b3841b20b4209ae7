-- POST /detainees/search with the queries of $QUERIES_FILE (`query<TAB>id`
-- lines from `sijill seed-demo --queries-out`), in turn, with a token ($TOKEN).
-- Prints p50/p95/p99 at the end (wrk's own --latency has no p95).
local bodies = {}
local token = os.getenv("TOKEN")
local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end
for line in io.lines(os.getenv("QUERIES_FILE")) do
  local query = line:match("^([^\t]+)")
  if query then bodies[#bodies + 1] = '{"q":' .. json_string(query) .. ',"limit":20}' end
end
local headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}
local n = 0

setup = function(thread) thread:set("offset", math.random(1, #bodies)) end

request = function()
  n = n + 1
  local body = bodies[(offset + n) % #bodies + 1]
  return wrk.format("POST", "/api/v1/detainees/search", headers, body)
end

response = function(status)
  if status ~= 200 then io.stderr:write("unexpected status " .. status .. "\n") end
end

done = dofile("bench/percentiles.lua")
