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

done = dofile("bench/percentiles.lua")
