--- flow.config_env: which environment variables a tenant's config may
--- read, with env("NAME", default) and by naming them in `*_env` fields
--- (api_key_env = "NAME": the runtime reads NAME for it).
--
--   config_env.allowed(tenant_id, name, extra?) -> true | false
--       true for names starting with the tenant's prefix (its id in upper
--       case, '-' as '_', then '_': CARWASH_ for carwash) unless they start
--       with a RESERVED prefix (a tenant called "flowhost" or "aws" gets no
--       FLOWHOST_ or AWS_ variable), for the vendor endpoint overrides
--       (ENDPOINTS), and for what extra allows (also reserved names)
--   config_env.platform(decl, tenant_id) -> extra
--       what _platform.lua's `env_allow` grants the tenant: the list part
--       for every tenant, the tenant's own key for it alone; each entry a
--       name or a prefix ending in '*' ("SHARED_*"). Raises on a bad entry.
--   config_env.reader(tenant_id, extra?) -> env(name, default?)
--       the env() a tenant config runs with: the variable's value (default
--       when unset or empty); a name not allowed raises an error naming it
--       and saying what to do
--   config_env.refs(settings, tenant_id, extra?) -> nil | key, name
--       the first `*_env` field (at any depth) naming a variable the tenant
--       may not read
--   config_env.prefix(tenant_id) -> "CARWASH_"
--   config_env.ENDPOINTS   the vendor endpoint overrides (one list, here)
--   config_env.RESERVED    prefixes of the platform's and its hosts' own
--                          variables, which no tenant prefix grants
local M = {}

-- every URL the runtime's connectors take from a tenant's config that an
-- operator may point elsewhere (a fake in tests, a proxy)
M.ENDPOINTS = { "TELEGRAM_API_URL", "WHATSAPP_API_URL", "TWILIO_API_URL", "WAPI_API_URL",
                "GOOGLE_OAUTH_TOKEN_URL", "GOOGLE_CALENDAR_API_URL", "ZOOM_OAUTH_TOKEN_URL", "ZOOM_API_URL" }
local ENDPOINT = {}
for _, n in ipairs(M.ENDPOINTS) do ENDPOINT[n] = true end

-- the host's own settings and secrets, and those of the machines and
-- clouds it commonly runs on
M.RESERVED = { "FLOWHOST_", "REDIS_", "LUA_", "LD_", "SSH_", "AWS_", "AZURE_", "GCP_", "GOOGLE_",
               "OPENAI_", "ANTHROPIC_", "GITHUB_", "DOCKER_", "KUBERNETES_" }

local function reserved(name)
  for _, p in ipairs(M.RESERVED) do
    if name:sub(1, #p) == p then return true end
  end
  return false
end

function M.prefix(id) return (id:upper():gsub("%-", "_")) .. "_" end

local function matches(entry, name)
  if entry:sub(-1) == "*" then return name:sub(1, #entry - 1) == entry:sub(1, -2) end
  return name == entry
end

function M.allowed(id, name, extra)
  if type(name) ~= "string" or name == "" then return false end
  local p = M.prefix(id)
  if name:sub(1, #p) == p and #name > #p and not reserved(name) then return true end
  if ENDPOINT[name] then return true end
  for _, e in ipairs(extra or {}) do
    if matches(e, name) then return true end
  end
  return false
end

function M.platform(decl, id)
  local out = {}
  if decl == nil then return out end
  if type(decl) ~= "table" then error("env_allow must be a table: { \"SHARED_*\", carwash = { \"X\" } }", 0) end
  local function add(list, where)
    if type(list) == "string" then list = { list } end
    if type(list) ~= "table" then error(("env_allow%s must be a list of names"):format(where), 0) end
    for _, e in ipairs(list) do
      if type(e) ~= "string" or not e:match("^[%w_]+%*?$") then
        error(("env_allow%s: '%s' is not a variable name (or a prefix ending in *)"):format(where, tostring(e)), 0)
      end
      out[#out + 1] = e
    end
  end
  local shared = {}
  for i, e in ipairs(decl) do shared[i] = e end
  add(shared, "")
  if decl[id] ~= nil then add(decl[id], "." .. id) end
  return out
end

local function hint(id)
  return ("a tenant's config may read only variables that start with %s and the vendor endpoints (%s); "
    .. "rename it to %s..., or ask the operator to allow it for '%s' in _platform.lua (env_allow)")
    :format(M.prefix(id), table.concat(M.ENDPOINTS, ", "), M.prefix(id), id)
end
M.hint = hint

function M.reader(id, extra)
  return function(name, default)
    if type(name) ~= "string" then error("env(name, default?): name must be a string", 2) end
    if not M.allowed(id, name, extra) then
      error(("env(\"%s\"): %s"):format(name, hint(id)), 2)
    end
    local v = os.getenv(name)
    if v == nil or v == "" then return default end
    return v
  end
end

function M.refs(settings, id, extra)
  local seen = {}
  local function walk(t, depth)
    if type(t) ~= "table" or seen[t] or depth > 20 then return nil end
    seen[t] = true
    for k, v in pairs(t) do
      if type(k) == "string" and k:match("_env$") and type(v) == "string" and not M.allowed(id, v, extra) then
        return k, v
      end
      local ik, iv = walk(v, depth + 1)
      if ik then return ik, iv end
    end
  end
  return walk(settings, 0)
end

return M
