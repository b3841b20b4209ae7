-- Open one review for each file in $IDS_FILE (threads stride through the list).
local ids = {}
for line in io.lines(os.getenv("IDS_FILE")) do ids[#ids + 1] = line end
local threads, counter = 0, 0
function setup(thread)
  thread:set("offset", threads)
  threads = threads + 1
end
local token = os.getenv("TOKEN")
local stride = tonumber(os.getenv("STRIDE") or "16")
request = function()
  local i = (offset or 0) + 1 + counter * stride
  counter = counter + 1
  local id = ids[((i - 1) % #ids) + 1]
  return wrk.format("POST", "/api/v1/detainees/" .. id .. "/reviews",
    {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, "{}")
end
