-- Routes the HTTP fuzz target serves beside "ops" (loaded only by
-- tests/fuzz/harness/fuzz_http.c): what a request brings in (method, path,
-- headers, query, body) comes back, some of it in response headers, so the
-- whole way in and out of the core is exercised. None of them raises: a 500
-- from the server is a finding.
local router = require "host.router"
local json = require "json"
local time = require "time"

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

local function echo(req, params)
  local headers = { ["Content-Type"] = "application/json" }
  -- a decoded query value can hold any byte: the core must not let one
  -- split the response (X-Injected must never appear as a header)
  if req.query.h then headers["X-Echo"] = req.query.h end
  return 200, json.encode{ method = req.method, path = req.path, bytes = #req.body, headers = count(req.headers),
                           query = count(req.query), params = params }, headers
end

router.route("POST", "/fuzz/echo", echo)
router.route("PUT", "/fuzz/echo", echo)
router.route("GET", "/fuzz/echo", echo)
router.route("GET", "/fuzz/items/{id}", echo)

-- answers on a later loop turn: the connection stays suspended meanwhile
router.route("POST", "/fuzz/slow", function(req, params)
  time.sleep(0.001)
  return echo(req, params)
end)
