--- flow.store: conversations in Redis.
--
--   store.load(tenant, id) -> conv, how | nil, err
--       how: "found" | "new" | "expired" (it existed but its TTL ran out)
--   store.save(tenant, id, conv, ttl) -> true | nil, err
--   store.reset(tenant, id) -> true | nil, err
--   store.key(tenant, id) -> the conversation's key (also its lock's base)
--
-- A conversation is one JSON value under fh:conv:{<tenant>:<id>} with the
-- tenant's TTL, plus a small marker that lives 30 days so an expired
-- conversation can be told apart from a new one. The braces keep both
-- keys on one Redis Cluster slot.
local redis = require "redis"
local json = require "json"

local M = {}

local SEEN_TTL = 30 * 24 * 3600
local HISTORY = 20

function M.key(tenant, id) return "fh:conv:{" .. tenant .. ":" .. id .. "}" end

function M.load(tenant, id)
  local key = M.key(tenant, id)
  local r, err = redis.pipeline{ { "GET", key }, { "EXISTS", key .. ":seen" } }
  if not r then return nil, err end
  if type(r[1]) == "table" then return nil, r[1].err end
  if type(r[1]) == "string" then
    local conv = json.decode(r[1])
    if type(conv) == "table" then return conv, "found" end
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

function M.save(tenant, id, conv, ttl)
  local key = M.key(tenant, id)
  local r, err = redis.pipeline{
    { "SET", key, json.encode(conv), "EX", math.floor(ttl) },
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
