--- flow.kept: conversations that keep the version they started on (tenant
--- setting `keep_version = true`), on whichever host or worker their turns
--- arrive (docs/versions.md).
--
--   kept.state(e, payload, boot) -> ts | nil        (yields)
--       the Lua state a turn of this conversation runs in: nil for the
--       tenant's serving one (the setting is off, the conversation is new
--       or on the serving version, Redis does not answer), else a state of
--       the version the conversation keeps, booted here from this worker's
--       history or the version store (host.version_store) when it has none.
--       A kept version that no longer loads (gone from the store, refused by
--       the check) hands the conversation to the serving version, logged.
--       e: the tenant's entry (flow.tenants); boot(id, files, version) -> ts, r
--   kept.forget(e, payload)   the conversation was reset: it starts on the serving version
--   kept.close(e)             closes every kept state of the tenant
--
-- The conversation's version is fh:ver:{T}:conv:<who>:<conversation> (<who>:
-- the tenant or "<tenant>.<rep>"), written by its first turn, kept for the
-- tenant's conversation_ttl after its last turn. A worker keeps at most
-- MAX_STATES versions of a tenant besides the serving one, each closed after
-- IDLE seconds without a turn.
local redis = require "redis"
local json = require "json"
local log = require "log"
local time = require "time"

local M = {}

M.MAX_STATES = 3
M.IDLE = 600
local DEFAULT_TTL = 24 * 3600

local function key(e, payload)
  local r = json.decode(payload)
  if type(r) ~= "table" or type(r.id) ~= "string" then return nil end
  local who = type(r.tenant) == "string" and r.tenant or e.id
  return ("fh:ver:{%s}:conv:%s:%s"):format(e.id, who, r.id)
end

-- closes kept states idle for IDLE seconds, or whose version serves again;
-- with room = true also the least recently used one past MAX_STATES - 1
local function sweep(e, room)
  local now = time.monotonic()
  local n, oldest = 0, nil
  for v, k in pairs(e.kept) do
    if now - k.used > M.IDLE or v == e.version then
      k.ts:close()
      e.kept[v] = nil
    else
      n = n + 1
      if not oldest or k.used < e.kept[oldest].used then oldest = v end
    end
  end
  if room and n >= M.MAX_STATES and oldest then
    e.kept[oldest].ts:close()
    e.kept[oldest] = nil
  end
end

-- the files of version v of the tenant: this worker's history, else the store
local function files_of(e, v)
  for _, h in ipairs(e.history or {}) do
    if h.version == v then return h.files end
  end
  local named, err = require("host.version_store").files(e.id, v)
  if not named then return nil, err or "not in the version store" end
  return require("flow.version").placed(named)
end

local function load(e, v, boot)
  sweep(e, true)
  local files, err = files_of(e, v)
  if not files then return nil, err end
  local ts, r = boot(e.id, files, v)
  if not r.ok then
    ts:close()
    return nil, tostring(r.problems and r.problems[1])
  end
  local k = { ts = ts, used = time.monotonic() }
  e.kept[v] = k
  log.info("a conversation keeps an earlier version: its state loaded", { tenant = e.id, version = v })
  return k
end

function M.state(e, payload, boot)
  local s = e.settings
  if not (s and s.keep_version == true and e.version) then return nil end
  local k = key(e, payload)
  if not k then return nil end
  local ttl = math.floor(tonumber(s.conversation_ttl) or DEFAULT_TTL)
  local res = redis.pipeline{ { "SET", k, e.version, "NX", "GET", "EX", ttl }, { "EXPIRE", k, ttl } }
  local v = res and res[1]
  if type(v) ~= "string" or v == e.version then return nil end
  e.kept = e.kept or {}
  sweep(e, false)
  local kv = e.kept[v]
  if not kv then
    local err
    kv, err = load(e, v, boot)
    if not kv then
      log.warn("a conversation's kept version cannot load; it goes on with the serving version",
        { tenant = e.id, version = v, serving = e.version, error = err })
      redis.call("SET", k, e.version, "EX", ttl)
      return nil
    end
  end
  kv.used = time.monotonic()
  return kv.ts
end

function M.forget(e, payload)
  local k = key(e, payload)
  if k then redis.call("DEL", k) end
end

function M.close(e)
  for v, k in pairs(e.kept or {}) do
    k.ts:close()
    e.kept[v] = nil
  end
end

return M
