--- channels.registry: the channel adapters, and a tenant's credentials for
--- one, read by reference from the environment.
--
--   registry.adapter(name) -> adapter | nil
--   registry.creds(settings, name) -> creds | nil, why
--       settings.channels.telegram = { token_env = "X_TOKEN", secret_env = "X_SECRET",
--                                      api_url = "https://api.telegram.org" }
--       a field `<name>_env` becomes <name> read from that environment
--       variable; other fields (api_url, phone_number_id, ...) are taken as they are
--   registry.for_rep(settings, rep) -> settings
--       a sales rep with a channel of their own (reps.<rep>.channels.telegram
--       = {token_env, secret_env}): the tenant's settings with the rep's
--       fields over the tenant's for that channel; else settings as they are
local M = {}

local ADAPTERS = { telegram = "channels.telegram", whatsapp = "channels.whatsapp", twilio = "channels.twilio",
                   vapi = "channels.vapi", wapi = "channels.wapi" }

function M.adapter(name)
  local mod = ADAPTERS[name]
  return mod and require(mod) or nil
end

function M.creds(settings, name)
  local c = settings and settings.channels and settings.channels[name]
  if type(c) ~= "table" then return nil, "the channel is not enabled for this tenant" end
  local out = {}
  for k, v in pairs(c) do
    if type(v) ~= "table" and not (type(k) == "string" and k:match("_env$")) then out[k] = v end
  end
  for k, v in pairs(c) do
    local field = type(k) == "string" and k:match("^(.-)_env$")
    if field and type(v) == "string" then out[field] = os.getenv(v) end
  end
  return out
end

function M.for_rep(settings, rep)
  local own = rep and type(settings.reps) == "table" and type(settings.reps[rep]) == "table"
              and settings.reps[rep].channels
  if type(own) ~= "table" then return settings end
  local channels = {}
  for name, c in pairs(settings.channels or {}) do channels[name] = c end
  for name, c in pairs(own) do
    local merged = {}
    for k, v in pairs(type(channels[name]) == "table" and channels[name] or {}) do merged[k] = v end
    for k, v in pairs(c) do merged[k] = v end
    channels[name] = merged
  end
  return setmetatable({ channels = channels }, { __index = settings })
end

return M
