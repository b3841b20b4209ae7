-- POST /detainees: each one an audited insert. Token in $TOKEN.
local counter = 0
local tag = tostring(math.random(1, 1e9))
local token = os.getenv("TOKEN")

request = function()
  counter = counter + 1
  local body = string.format(
    '{"full_name":"Load Test %s %d","name_ar":"اختبار %d","status":"detained","category":"political","detained_on":"2013-04","notes":"created by bench/records.sh"}',
    tag, counter, counter)
  return wrk.format("POST", "/api/v1/detainees", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end

response = function(status)
  if status ~= 201 then io.stderr:write("unexpected status " .. status .. "\n") end
end

-- DELAY_MS: each connection waits that long after an answer before its
-- next request (a caseworker's pace rather than all the server takes).
local pause = tonumber(os.getenv("DELAY_MS") or "")
if pause then
  delay = function() return pause end
end
