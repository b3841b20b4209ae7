-- GET /detainees/{id} for random ids from $IDS_FILE, with a caseworker's token ($TOKEN).
local ids = {}
local token = os.getenv("TOKEN")
for line in io.lines(os.getenv("IDS_FILE")) do
  ids[#ids + 1] = line
end
math.randomseed(os.time() + math.floor(os.clock() * 1e6))

request = function()
  local id = ids[math.random(1, #ids)]
  return wrk.format("GET", "/api/v1/detainees/" .. id, {["Authorization"] = "Bearer " .. token})
end

response = function(status)
  if status ~= 200 then io.stderr:write("unexpected status " .. status .. "\n") end
end

-- DELAY_MS: each connection waits that long after an answer before its next
-- request (a reader's pause), so the load is a rate the server keeps up
-- with instead of all it can take.
local pause = tonumber(os.getenv("DELAY_MS") or "")
if pause then
  delay = function() return pause end
end
