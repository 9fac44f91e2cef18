--- Fuzz target: the route table (scripts/host/router.lua) with every route
--- the host serves (each module of scripts/routes registers its real paths;
--- the handlers are replaced by one that echoes what it was given).
---
--- Input: "METHOD /path" (a method is up to 16 bytes before the first
--- space), or else the whole input is a GET's path. The core hands the
--- router the path libmicrohttpd decoded, so any byte may be in it.
---
--- Findings (the target raises):
---   * router.handle raises
---   * its answer differs from an independent reading of the router's
---     contract: 400 for a path with a control character; one segment per
---     {param}, non-empty, never holding "/"; literal segments equal; exact
---     paths first, then the patterns in the order they were registered;
---     a {tenant} that is no tenant id (or "<tenant>.<rep>" where the route
---     takes reps) is 404 before anything else; HEAD served by GET; 405
---     only for a known path
local stubs = require("targets.stubs").install()
local router = require "host.router"
local json = require "json"

local function finding(fmt, ...) error(("router: " .. fmt):format(...), 0) end

local function segments(path)
  local out = {}
  for seg in (path .. "/"):gmatch("(.-)/") do out[#out + 1] = seg end
  return out
end

local templates = {}   -- in registration order: {path, segs, methods, exact}
local by_path = {}

local register = router.route
router.route = function(method, path, fn, name, opts)
  local t = by_path[path]
  if not t then
    t = { path = path, segs = segments(path), methods = {}, exact = not path:find("{", 1, true) }
    for i, s in ipairs(t.segs) do
      if s:find("[{}]") and not s:match("^{%w+}$") and not (i == #t.segs and s:match("^{%w+%*}$")) then
        error("tests/fuzz/targets/router.lua judges whole-segment {params} (and a last {name*}) only, not " .. path)
      end
    end
    by_path[path] = t
    templates[#templates + 1] = t
  end
  t.methods[method:upper()] = { reps = type(opts) == "table" and opts.reps == true }
  register(method, path, function(_, params)
    return 200, json.encode{ path = path, params = params }
  end, name, opts)
end

local scripts = select(2, ...)
local names = assert(require("host").listdir(scripts .. "/routes"))
for _, file in ipairs(names) do
  local mod = file:match("^(.-)%.lua$")
  -- (studio_preview adds no route: it points the studio's preview host at
  -- its own Redis database, and refuses to load anywhere else)
  if mod and mod ~= "studio_preview" then require("routes." .. mod) end
end
router.route = register
assert(#templates > 0, "no routes registered")
stubs.reset()

-- the reference: template t matches path -> params | nil
local function match(t, segs)
  if t.exact then return t.path == table.concat(segs, "/") and {} or nil end
  local rest = t.segs[#t.segs]:match("^{(%w+)%*}$")   -- a last {name*}: the rest, slashes too, not empty
  if rest then
    if #segs < #t.segs then return nil end
  elseif #segs ~= #t.segs then
    return nil
  end
  local params = {}
  for i, s in ipairs(t.segs) do
    local name = s:match("^{(%w+)}$")
    if rest and i == #t.segs then
      local tail = table.concat(segs, "/", i)
      if tail == "" then return nil end
      params[rest] = tail
    elseif name then
      if segs[i] == "" then return nil end
      params[name] = segs[i]
    elseif s ~= segs[i] then
      return nil
    end
  end
  return params
end

-- a tenant id: a-z 0-9 first, then also '_' and '-' (a file name and a key part)
local function tenant_id(s)
  if #s == 0 then return false end
  for i = 1, #s do
    local c = s:sub(i, i)
    local ok = (c >= "a" and c <= "z") or (c >= "0" and c <= "9") or (i > 1 and (c == "_" or c == "-"))
    if not ok then return false end
  end
  return true
end

local function rep_id(s)
  return #s > 0 and not s:find("[^%w_%-]")
end

local function tenant_ok(v, reps)
  if tenant_id(v) then return true end
  local dot = v:find(".", 1, true)
  if not reps or not dot or v:find(".", dot + 1, true) then return false end
  return tenant_id(v:sub(1, dot - 1)) and rep_id(v:sub(dot + 1))
end

local function expected(method, path)
  for i = 1, #path do
    local b = path:byte(i)
    if b < 32 or b == 127 then return 400 end
  end
  local segs = segments(path)
  local found, params
  for _, t in ipairs(templates) do
    if t.exact and t.path == path then found, params = t, {} break end
  end
  if not found then
    for _, t in ipairs(templates) do
      if not t.exact then
        params = match(t, segs)
        if params then found = t break end
      end
    end
  end
  if not found then return 404 end
  local r = found.methods[method] or (method == "HEAD" and found.methods.GET)
  if params.tenant and not tenant_ok(params.tenant, r and r.reps) then return 404 end
  if r then return 200, found.path, params end
  return 405
end

local function same_params(a, b)
  for k, v in pairs(a) do if b[k] ~= v then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

return function(input)
  local method, path = input:match("^([^ ]+) (.*)$")
  if not method or #method > 16 then method, path = "GET", input end
  local req = { id = "fuzz", method = method, path = path, headers = {}, query = {}, body = "" }
  local ok, status, body = xpcall(router.handle, debug.traceback, req)
  if not ok then finding("router.handle raised:\n%s", tostring(status)) end
  local want, want_path, want_params = expected(method, path)
  if status ~= want then
    finding("%s %q answered %s, the reference says %s", method, path, tostring(status), tostring(want))
  end
  if status == 200 then
    local got = json.decode(body)
    if got.path ~= want_path then finding("%s %q reached %s, the reference says %s", method, path, got.path, want_path) end
    if not same_params(got.params, want_params) then
      finding("%s %q gave params %s, the reference says %s", method, path, json.encode(got.params), json.encode(want_params))
    end
  end
end
