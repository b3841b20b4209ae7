-- PATCH /users/{id} with a new display name every request (each one an audited write).
-- Expects USER_ID and TOKEN in the environment.
local counter = 0
local id = os.getenv("USER_ID")
local token = os.getenv("TOKEN")
local thread_tag = tostring(math.random(1, 1e9))

request = function()
  counter = counter + 1
  local body = string.format('{"display_name":"Bench %s %d"}', thread_tag, counter)
  return wrk.format("PATCH", "/api/v1/users/" .. id, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["If-Match"] = "*",
  }, body)
end

response = function(status)
  if status ~= 200 then
    io.stderr:write("unexpected status " .. status .. "\n")
  end
end
