-- One review cycle per three requests, one file per connection (run with
-- -t N -c N so that each thread drives exactly one connection):
-- open (caseworker) → claim (reviewer) → decide (reviewer) → open again …
-- $IDS_FILE: file ids (one a line); $CASEWORKER, $REVIEWER: tokens.
local ids = {}
for line in io.lines(os.getenv("IDS_FILE")) do ids[#ids + 1] = line end
local next_index = 1

function setup(thread)
  thread:set("file", ids[next_index])
  next_index = next_index + 1
end

local caseworker = os.getenv("CASEWORKER")
local reviewer = os.getenv("REVIEWER")
local step, review, cycles = 0, nil, 0
local rationale = '{"decision":"release_withheld","rationale":"Benchmark decision with a long enough rationale."}'

request = function()
  if step == 0 then
    return wrk.format("POST", "/api/v1/detainees/" .. file .. "/reviews",
      {["Authorization"] = "Bearer " .. caseworker, ["Content-Type"] = "application/json"}, "{}")
  elseif step == 1 then
    return wrk.format("POST", "/api/v1/reviews/" .. review .. "/claim",
      {["Authorization"] = "Bearer " .. reviewer, ["Content-Type"] = "application/json"}, "{}")
  else
    return wrk.format("POST", "/api/v1/reviews/" .. review .. "/decision",
      {["Authorization"] = "Bearer " .. reviewer, ["Content-Type"] = "application/json"}, rationale)
  end
end

response = function(status, headers, body)
  if step == 0 and status == 201 then
    review = string.match(body, '"id":"([^"]+)"')
    step = 1
  elseif step == 1 and status == 200 then
    step = 2
  elseif step == 2 and status == 200 then
    cycles = cycles + 1
    step = 0
  else
    io.stderr:write("step " .. step .. ": unexpected status " .. status .. "\n")
  end
end
