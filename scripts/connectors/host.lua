--- connectors.host: runs connector calls in the worker's main state, where
--- the credentials are. A tenant's flow reaches it only through
--- connectors.view (c.connectors), by host.call_on into this worker's
--- `connector_op`; no secret, token or client ever enters a tenant's state.
--
--   connector_op(payload) -> JSON {res} | {err, detail}     (a global; yields)
--     payload: {tenant, name, decl, op, args, key?, timeout?} from the view
--   host.call(a) -> value | nil, word, detail               (yields)
--   host.MODULES: connector name -> module
--
-- Before a call: the connector and op must exist; every `*_env` secret of
-- the declaration must be one the tenant may read (flow.config_env, with
-- _platform.lua's env_allow) and set, else "not configured". The base URL
-- is the declaration's (tenant config) or, for Google and Zoom, the
-- operator's endpoint variable; paths are built by the connector. Ops that
-- change something go through connectors.ledger under the flow's key.
local json = require "json"
local time = require "time"
local host = require "host"
local log = require "log"
local crypto = require "crypto"
local config_env = require "flow.config_env"
local ledger = require "connectors.ledger"

local M = {}

M.MODULES = require("connectors.view").MODULES   -- the one list of connectors
M.DEFAULT_TIMEOUT, M.MAX_TIMEOUT = 20, 120

local clients = {}     -- fingerprint -> client (tokens cached in it)

-- a stable text of a flat declaration
local function canonical(decl)
  local keys = {}
  for k in pairs(decl) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  local parts = {}
  for i, k in ipairs(keys) do parts[i] = k .. "=" .. tostring(decl[k]) end
  return table.concat(parts, "\0")
end

local function env_extra(tenant)
  local ok, t = pcall(require, "flow.tenant")
  if ok and t.env_extra then return t.env_extra(tenant) end
  return {}
end

-- -> client | nil, word, detail
local function client_of(tenant, name, decl)
  local C = require(M.MODULES[name])
  local secrets, extra = {}, nil
  for _, field in ipairs(C.secrets) do
    local var = decl[field]
    if type(var) ~= "string" then return nil, "not configured", name .. ": " .. field .. " is not set" end
    -- a sales rep ("<tenant>.<rep>") reads what its tenant may read
    local owner = tenant:match("^([^.]+)") or tenant
    extra = extra or env_extra(owner)
    if not config_env.allowed(owner, var, extra) then
      return nil, "not configured", name .. ": " .. field .. " = " .. var .. " is not a variable this tenant may read"
    end
    local v = os.getenv(var)
    if not v or v == "" then return nil, "not configured", name .. ": environment variable " .. var .. " is not set" end
    secrets[field] = v
  end
  local fp = crypto.hex(crypto.sha256(tenant .. "\0" .. name .. "\0" .. canonical(decl) .. "\0" .. canonical(secrets)))
  local c = clients[fp]
  if c then return c end
  local endpoints = {}
  for k, e in pairs(C.endpoints or {}) do
    local v = os.getenv(e[1])
    endpoints[k] = ((v and v ~= "") and v or e[2]):gsub("/+$", "")
  end
  local ok, made = pcall(C.new, decl, secrets, endpoints)
  if not ok then return nil, "not configured", tostring(made) end
  clients[fp] = made
  return made
end

local function unnull(list, n)
  local out = {}
  for i = 1, n do
    local v = list[i]
    if v ~= json.null then out[i] = v end
  end
  return out
end

function M.call(a)
  local C = M.MODULES[a.name] and require(M.MODULES[a.name])
  local spec = C and C.ops[a.op]
  if not spec then return nil, "bad request", ("no op %s.%s"):format(tostring(a.name), tostring(a.op)) end
  local tenants = package.loaded["flow.tenants"]
  if tenants and tenants.serves and not tenants.serves(a.tenant) then
    return nil, "bad request", "tenant " .. tostring(a.tenant) .. " is not served by this worker"
  end
  local client, word, detail = client_of(a.tenant, a.name, a.decl or {})
  if not client then return nil, word, detail end
  local timeout = math.min(tonumber(a.timeout) or tonumber((a.decl or {}).deadline) or M.DEFAULT_TIMEOUT, M.MAX_TIMEOUT)
  local args = unnull(type(a.args) == "table" and a.args or {}, spec.n)
  local ctx = { deadline = time.now() + timeout, key = a.key,
                marker = a.key and (a.tenant .. ":" .. a.key) or nil }
  local function guarded(fn)
    local ok, v, w, d = pcall(fn)
    if not ok then return nil, "bad request", tostring(v) end
    return v, w, d
  end
  if not spec.write then
    return guarded(function() return C.run(client, a.op, args, ctx) end)
  end
  return ledger.run({ tenant = a.tenant, connector = a.name, key = a.key, op = a.op, deadline = ctx.deadline },
    function(doubt)
      ctx.doubt = doubt
      return guarded(function() return C.run(client, a.op, args, ctx) end)
    end,
    function() return guarded(function() return C.find(client, a.op, args, ctx) end) end)
end

--- forget every client (tokens included): a reload of the connector code
function M.reset() clients = {} end

function _G.connector_op(payload)
  local ok, a = pcall(json.decode, payload)
  if not ok or type(a) ~= "table" or type(a.tenant) ~= "string" or type(a.name) ~= "string" then
    return json.encode{ err = "bad request", detail = "malformed connector call" }
  end
  local value, word, detail = M.call(a)
  if value == nil then
    log.info("connector call failed", { tenant = a.tenant, connector = a.name, op = a.op, error = word })
    return json.encode{ err = word or "failed", detail = detail }
  end
  return json.encode{ res = value }
end

return M
