-- A flood of logins with a wrong password for accounts that do not exist:
-- every one costs a full argon2id hash. Usernames vary so the per-username
-- lock-out does not cut the flood short (run the server with a high
-- SIJILL_LOGIN_MAX_FAILURES_PER_CLIENT so the per-address lock does not either).
local counter = 0
local tag = tostring(math.random(1, 1e9))
request = function()
  counter = counter + 1
  local body = string.format('{"username":"flood-%s-%d","password":"not the right password 1"}', tag, counter)
  return wrk.format("POST", "/api/v1/auth/login", {["Content-Type"] = "application/json"}, body)
end
