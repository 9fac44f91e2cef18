--- connectors.view: what a flow sees as c.connectors, and the check of a
--- tenant's `connectors = {...}` declaration. Runs in the tenant's state;
--- every call crosses to the worker's main state (connectors.host) with
--- host.call_on, so credentials and tokens stay there.
--
--   view.declare(decls, tenant_id) -> decls | nil, problem      (at load)
--       decls: { odoo = { url = ..., db = ..., login_env = ..., key_env = ... }, ... }
--       each value a string, number or boolean; a known connector; its own
--       checks (connectors/<name>.lua C.check); every secret named by a
--       `*_env` field (the values are read in the main state, per call)
--   view.new(decls, tenant_id) -> the c.connectors view
--       c.connectors.<name>:<op>(args..., opts?) -> value | nil, word, detail (yields)
--       opts: {key = "..." (required by ops that change something), timeout = seconds}
--
-- What a flow cannot do: name a URL, a path or a host (the connector builds
-- them from the declaration), read a credential, or call for another tenant
-- (the tenant id is the routed one, kept out of the flow's reach).
local json = require "json"
local host = require "host"
local readonly = require "flow.readonly"

local M = {}

local MODULES = { odoo = "connectors.odoo", frappe = "connectors.frappe",
                  google_calendar = "connectors.google_calendar", zoom = "connectors.zoom" }
M.MODULES = MODULES

function M.declare(decls, id)
  if type(decls) ~= "table" then return nil, "connectors must be a table: { odoo = { url = ..., ... } }" end
  for name, d in pairs(decls) do
    local mod = MODULES[name]
    if not mod then
      return nil, ("connectors.%s: unknown connector (odoo, frappe, google_calendar, zoom)"):format(tostring(name))
    end
    if type(d) ~= "table" then return nil, ("connectors.%s must be a table"):format(name) end
    for k, v in pairs(d) do
      local kind = type(v)
      if type(k) ~= "string" or (kind ~= "string" and kind ~= "number" and kind ~= "boolean") then
        return nil, ("connectors.%s.%s must be a string, number or boolean"):format(name, tostring(k))
      end
    end
    local C = require(mod)
    for _, field in ipairs(C.secrets) do
      if type(d[field]) ~= "string" then
        return nil, ("connectors.%s.%s must name the environment variable that holds it"):format(name, field)
      end
    end
    for _, k in ipairs{ "timeout", "tries", "deadline" } do
      if d[k] ~= nil and (type(d[k]) ~= "number" or d[k] <= 0) then
        return nil, ("connectors.%s.%s must be a positive number"):format(name, k)
      end
    end
    local problem = C.check(d)
    if problem then return nil, ("connectors.%s: %s"):format(name, problem) end
  end
  return decls
end

local Conn = {}     -- name -> class of that connector's objects
local function class(name)
  local cls = Conn[name]
  if cls then return cls end
  local C = require(MODULES[name])
  cls = {}
  cls.__index = cls
  for op, spec in pairs(C.ops) do
    local call = ("c.connectors.%s:%s(...)"):format(name, op)
    cls[op] = function(self, ...)
      if getmetatable(self) ~= cls then error(call .. " must be called with ':'", 2) end
      local args = {}
      for i = 1, spec.n do
        local v = select(i, ...)
        args[i] = v == nil and json.null or readonly.plain(v, { name = call })
      end
      local opts = select(spec.n + 1, ...)
      if opts ~= nil and type(opts) ~= "table" then error(call .. ": the options come last, as a table", 2) end
      opts = opts or {}
      local key = opts.key
      if spec.write and (type(key) ~= "string" or key == "") then
        error(call .. ": this changes something outside, so it needs { key = \"...\" } (an idempotency key)", 2)
      end
      if opts.timeout ~= nil and type(opts.timeout) ~= "number" then error(call .. ": timeout must be seconds", 2) end
      local ok, res = host.call_on(host.worker(), "connector_op", json.encode{
        tenant = self.tenant, name = name, decl = self.decl, op = op, args = args,
        key = spec.write and key or nil, timeout = opts.timeout })
      if not ok then return nil, "unavailable", tostring(res) end
      local r = json.decode(res)
      if r.err then return nil, r.err, r.detail end
      return r.res
    end
  end
  Conn[name] = cls
  return cls
end

function M.new(decls, tenant)
  local objs = {}
  for name, d in pairs(decls or {}) do
    objs[name] = readonly.view(setmetatable({ tenant = tenant, decl = d }, class(name)),
      "c.connectors." .. name, { kind = "object" })
  end
  return readonly.view(objs, "c.connectors", { custom = true, get = function(_, k) return objs[k] end,
    hint = "connectors are declared in the tenant's config (connectors = { ... })" })
end

return M
