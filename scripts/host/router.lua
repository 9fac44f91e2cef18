--- The route table: adding an endpoint is one call in a file under
--- scripts/routes/, no C.
--
--   router.route(method, path, fn, name?)   path may hold {params}
--   fn(req, params) -> status, body, headers
--   req = {id, method, path, headers (lowercased), query, body}
--
-- Unknown paths get 404, a known path with another method 405. A handler
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

local function compile(path)
  local names = {}
  local pattern = "^" .. path:gsub("[%.%-%+%*%?%[%]%^%$%%]", "%%%0"):gsub("{(%w+)}", function(n)
    names[#names + 1] = n
    return "([^/]+)"
  end) .. "$"
  return pattern, names
end

--- Registers fn for method and path. Raises on a duplicate route.
function M.route(method, path, fn, name)
  assert(type(method) == "string" and type(path) == "string", "router.route(method, path, fn)")
  assert(type(fn) == "function", "router.route: fn must be a function")
  local r = { fn = fn, name = name or path }
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

--- Called by the core for every request: status, body, headers, route name.
function M.handle(req)
  local methods, params = find(req.path)
  if not methods then
    local s, b, h = M.json(404, { error = "not found" })
    return s, b, h, "unmatched"
  end
  local r = methods[req.method] or (req.method == "HEAD" and methods.GET)
  if not r then
    local s, b, h = M.json(405, { error = "method not allowed" })
    return s, b, h, "unmatched"
  end
  set_route(r.name) -- kept by the core for the metrics if fn raises
  local status, body, headers = r.fn(req, params or {})
  return status, body, headers, r.name
end

return M
