--- flow.store: conversations in Redis.
--
--   store.load(tenant, id) -> conv, how | nil, err
--       how: "found" | "new" | "expired" (it existed but its TTL ran out)
--       conv.id and conv.tenant are always id and tenant (never what the
--       record says); conv.slots, conv.data and conv.history are tables
--   store.save(tenant, id, conv, ttl, fence?) -> true | nil, err
--       what JSON cannot hold (functions, runtime objects, cycles, ...) is
--       left out and logged as a warning naming where it was; with fence
--       (the turn lock's handle.fence) the write is refused, nil, "stale
--       lock", when the lock was taken by someone else since (our lease ran
--       out: a paused host must not overwrite the newer turn's conversation)
--   store.lock_key(tenant, id) -> the key of the conversation's turn lock
--   store.reset(tenant, id) -> true | nil, err
--   store.key(tenant, id) -> the conversation's key (also its lock's base)
--
-- tenant is the tenant the request was routed to: in a tenant's own Lua
-- state every function here raises for any other tenant than that one or
-- one of its reps ("<tenant>.<rep>"), see flow.identity; id must be a
-- non-empty string (raises otherwise).
--
-- A conversation is one JSON value under fh:conv:{<tenant>:<id>} with the
-- tenant's TTL, plus a small marker that lives 30 days so an expired
-- conversation can be told apart from a new one. The braces keep both
-- keys on one Redis Cluster slot.
local redis = require "redis"
local rscript = require "rscript"
local lock = require "lock"
local json = require "json"
local identity = require "flow.identity"
local readonly = require "flow.readonly"

local M = {}

local SEEN_TTL = 30 * 24 * 3600
local HISTORY = 20

function M.key(tenant, id)
  identity.check_tenant(tenant, "store")
  if type(id) ~= "string" or id == "" then
    error("store: a conversation id must be a non-empty string, got " .. (id == "" and "\"\"" or type(id)), 2)
  end
  return "fh:conv:{" .. tenant .. ":" .. id .. "}"
end

function M.lock_key(tenant, id) return M.key(tenant, id) .. ":lock" end

-- KEYS: the conversation, its marker, the lock's fencing counter (one slot:
-- all carry {tenant:id}); ARGV: json, ttl, marker ttl, the writer's fence
local SAVE_FENCED = rscript.new([[
local newest = tonumber(redis.call('GET', KEYS[3]) or '0')
if newest and newest > tonumber(ARGV[4]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])
return 1]])

local function table_field(conv, k)
  if type(conv[k]) ~= "table" then conv[k] = {} end
end

function M.load(tenant, id)
  local key = M.key(tenant, id)
  local r, err = redis.pipeline{ { "GET", key }, { "EXISTS", key .. ":seen" } }
  if not r then return nil, err end
  if type(r[1]) == "table" then return nil, r[1].err end
  if type(r[1]) == "string" then
    local conv = json.decode(r[1])
    if type(conv) == "table" then
      conv.id, conv.tenant = id, tenant
      table_field(conv, "slots"); table_field(conv, "data"); table_field(conv, "history")
      return conv, "found"
    end
    require("log").warn("conversation record unreadable, starting anew", { tenant = tenant, conversation = id })
  end
  return { id = id, tenant = tenant, slots = {}, data = {}, history = {}, turns = 0 },
         r[2] == 1 and "expired" or "new"
end

--- Appends to the conversation's recent history (kept to 20 entries).
function M.remember(conv, who, text)
  local h = conv.history
  h[#h + 1] = { who = who, text = text }
  while #h > HISTORY do table.remove(h, 1) end
end

function M.save(tenant, id, conv, ttl, fence)
  local key = M.key(tenant, id)
  local plain, problems = readonly.plain(conv, { name = "conversation" })
  if problems[1] then
    require("log").warn("the conversation held values a conversation cannot keep; they were not saved",
      { tenant = tenant, conversation = id, what = table.concat(problems, "; ") })
  end
  plain.id, plain.tenant = id, tenant
  if fence then
    local n, err = SAVE_FENCED:run({ key, key .. ":seen", lock.fence_key(M.lock_key(tenant, id)) },
      { json.encode(plain), math.floor(ttl), math.max(SEEN_TTL, math.floor(ttl)), fence })
    if n == nil then return nil, err end
    if n == 0 then
      require("log").warn("conversation not saved: its lock was taken by a newer turn (this one's lease ran out)",
        { tenant = tenant, conversation = id })
      return nil, "stale lock"
    end
    return true
  end
  local r, err = redis.pipeline{
    { "SET", key, json.encode(plain), "EX", math.floor(ttl) },
    { "SET", key .. ":seen", "1", "EX", math.max(SEEN_TTL, math.floor(ttl)) },
  }
  if not r then return nil, err end
  if type(r[1]) == "table" then return nil, r[1].err end
  return true
end

function M.reset(tenant, id)
  local key = M.key(tenant, id)
  local _, err = redis.call("DEL", key, key .. ":seen")
  if err then return nil, err end
  return true
end

return M
