-- wrk script: per connection, a cycle of 20 requests mixing a sign-in, a full user CRUD round and
-- authorized reads. Run with as many connections as threads (-t N -c N) so each thread's requests
-- and responses alternate and the created user's id can be carried to the next request.
local token = os.getenv("SOAK_TOKEN")
local password = os.getenv("SOAK_ADMIN_PASSWORD")
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  step, n, user_id, errors, statuses = 0, 0, nil, 0, {}
  auth = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
end

local function json(method, path, body)
  return wrk.format(method, path, auth, body)
end

function request()
  local s = step % 20
  if s == 0 then
    return wrk.format("POST", "/api/v1/auth/login", { ["Content-Type"] = "application/json" },
      '{"username":"admin","password":"' .. password .. '"}')
  elseif s == 1 then
    n = n + 1
    return json("POST", "/api/v1/users",
      '{"username":"soak-' .. tid .. '-' .. n .. '","password":"soak-password-' .. n .. '","role":"viewer"}')
  elseif user_id and s == 2 then
    return json("GET", "/api/v1/users/" .. user_id)
  elseif user_id and s == 3 then
    return json("PATCH", "/api/v1/users/" .. user_id, '{"role":"developer","workspaceAccess":{"all":true}}')
  elseif user_id and s == 4 then
    return json("POST", "/api/v1/users/" .. user_id .. "/reset-password", '{"newPassword":"another-soak-pw-' .. n .. '"}')
  elseif user_id and s == 5 then
    return json("DELETE", "/api/v1/users/" .. user_id)
  elseif s % 3 == 0 then
    return json("GET", "/api/v1/users")
  elseif s % 3 == 1 then
    return json("GET", "/api/v1/dags")
  else
    return json("GET", "/api/v1/auth/me")
  end
end

function response(status, headers, body)
  local s = step % 20
  if status >= 400 then
    errors = errors + 1
    statuses[status] = (statuses[status] or 0) + 1
  end
  if s == 1 then
    user_id = body and string.match(body, '"id":"([^"]+)"') or nil
  elseif s == 5 then
    user_id = nil
  end
  step = step + 1
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + (thread:get("errors") or 0)
  end
  io.write(string.format("SOAK errors (status >= 400): %d\n", total))
  io.write(string.format("SOAK socket errors: connect %d, read %d, write %d, timeout %d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
end
