--- The route table: adding an endpoint is one call in a file under
--- scripts/routes/, no C.
--
--   router.route(method, path, fn, name?, opts?)   path may hold {params};
--       a last {name*} takes the rest of the path, slashes included
--   fn(req, params) -> status, body, headers
--   req = {id, method, path, headers (lowercased), query, body}
--   opts.reps = true: {tenant} may also be "<tenant>.<rep>" (a sales rep)
--
-- Unknown paths get 404, a known path with another method 405. A path with
-- a control character gets 400 (the core already refuses %00 and broken
-- %-escapes before decoding; this holds for any caller). A {param} with a
-- rule below that its value breaks gets the rule's answer before any
-- handler runs: a {tenant} that is not a tenant id is 404 "unknown tenant"
-- on every route, so `..`, `.x` or `_platform` never reach one. A handler
-- that raises gets 500 from the core (with the request id, traceback logged).
local json = require "json"
local set_route = require("host").set_route

local M = {}

local exact = {}      -- path -> {method -> route}
local patterned = {}  -- list of {pattern, names, methods}

--- Answer helper: status plus a Lua value encoded as JSON.
function M.json(status, value)
  return status, json.encode(value), { ["Content-Type"] = "application/json" }
end

local TENANT_ID = require("flow.tenant").ID    -- what a tenant id is
local REP_ID = "^[%w_%-]+$"                    -- as flow.tenant checks reps

-- Rules for {params} by name: ok(value, route) -> truthy when the value may
-- reach the handler; else the answer {status, error word, message}.
local PARAMS = {
  tenant = {
    ok = function(v, r)
      if v:match(TENANT_ID) then return true end
      local base, rep = v:match("^([^.]+)%.([^.]+)$")
      return r.reps and base and base:match(TENANT_ID) and rep:match(REP_ID)
    end,
    answer = { 404, "unknown tenant", "there is no such tenant (check the tenant id in the URL)" },
  },
}

local function compile(path)
  local names = {}
  local pattern = "^" .. path:gsub("[%.%-%+%?%[%]%^%$%%]", "%%%0"):gsub("{(%w+)(%*?)}", function(n, rest)
    names[#names + 1] = n
    return rest == "*" and "(.+)" or "([^/]+)"
  end) .. "$"
  return pattern, names
end

--- Registers fn for method and path; name (default: path) labels its
--- metrics; opts.reps lets {tenant} name a rep ("<tenant>.<rep>"). Raises
--- on a duplicate route.
function M.route(method, path, fn, name, opts)
  assert(type(method) == "string" and type(path) == "string", "router.route(method, path, fn)")
  assert(type(fn) == "function", "router.route: fn must be a function")
  assert(opts == nil or type(opts) == "table", "router.route: opts must be a table")
  local r = { fn = fn, name = name or path, reps = opts ~= nil and opts.reps == true }
  method = method:upper()
  if not path:find("{", 1, true) then
    exact[path] = exact[path] or {}
    if exact[path][method] then error("duplicate route " .. method .. " " .. path, 2) end
    exact[path][method] = r
    return
  end
  local pattern, names = compile(path)
  for _, p in ipairs(patterned) do
    if p.path == path then
      if p.methods[method] then error("duplicate route " .. method .. " " .. path, 2) end
      p.methods[method] = r
      return
    end
  end
  patterned[#patterned + 1] = { path = path, pattern = pattern, names = names, methods = { [method] = r } }
end

local function find(path)
  local methods = exact[path]
  if methods then return methods, nil end
  for _, p in ipairs(patterned) do
    local caps = { path:match(p.pattern) }
    if caps[1] then
      local params = {}
      for i, n in ipairs(p.names) do params[n] = caps[i] end
      return p.methods, params
    end
  end
end

local function refuse(status, word, message)
  local s, b, h = M.json(status, { error = word, message = message })
  return s, b, h, "unmatched"
end

-- the answer for the first param its rule refuses, or nil
local function check_params(params, r)
  for name, value in pairs(params) do
    local rule = PARAMS[name]
    if rule and not rule.ok(value, r) then return refuse(unpack(rule.answer)) end
  end
end

--- Called by the core for every request: status, body, headers, route name.
function M.handle(req)
  if type(req.path) ~= "string" or req.path:find("[%z\1-\31\127]") then
    return refuse(400, "bad path", "the path holds a control character")
  end
  local methods, params = find(req.path)
  if not methods then
    local s, b, h = M.json(404, { error = "not found" })
    return s, b, h, "unmatched"
  end
  local r = methods[req.method] or (req.method == "HEAD" and methods.GET)
  if params then
    -- one rule for every route: a rep only where the route takes reps
    local s, b, h, n = check_params(params, r or { reps = false })
    if s then return s, b, h, n end
  end
  if not r then
    local s, b, h = M.json(405, { error = "method not allowed" })
    return s, b, h, "unmatched"
  end
  set_route(r.name) -- kept by the core for the metrics if fn raises
  local status, body, headers = r.fn(req, params or {})
  return status, body, headers, r.name
end

return M
