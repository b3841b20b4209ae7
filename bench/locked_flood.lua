-- A flood of logins for one username that is already locked: every answer
-- is 429, and none needs a password hash. Shows what refused logins cost
-- the rest of the service (run the server with a high
-- SIJILL_LOGIN_MAX_FAILURES_PER_CLIENT so that only the username is locked).
request = function()
  return wrk.format("POST", "/api/v1/auth/login", {["Content-Type"] = "application/json"},
    '{"username":"admin","password":"not the right password 1"}')
end
