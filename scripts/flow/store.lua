--- flow.store: conversations in Redis.
--
--   store.load(tenant, id, also?) -> conv, how, replies | nil, err
--       how: "found" | "new" | "expired" (it existed but its TTL ran out)
--       also: Redis commands sent in the same round trip (what the turn
--       reads next anyway); replies: theirs, in order
--       conv.id and conv.tenant are always id and tenant (never what the
--       record says); conv.slots, conv.data and conv.history are tables
--   store.save(tenant, id, conv, ttl, fence?) -> true, copy | nil, err
--       copy: what was written (readonly.plain's copy of conv)
--       what JSON cannot hold (functions, runtime objects, cycles, ...) is
--       left out and logged as a warning naming where it was; with fence
--       (the turn lock's handle.fence) the write is refused, nil, "stale
--       lock", when the lock was taken by someone else since (our lease ran
--       out: a paused host must not overwrite the newer turn's conversation)
--   store.lock_key(tenant, id) -> the key of the conversation's turn lock
--   store.reset(tenant, id) -> true | nil, err
--   store.key(tenant, id) -> the conversation's key (also its lock's base)
--   store.index(tenant) -> the key of the tenant's (or rep's) conversations by
--       last turn (the studio's list and search): a sorted set, score the
--       time of the last save, member store.member(id, conv) = "<name>\t<phone>\t<id>"
--       (name and phone from the slots, lower case, no tabs); the record
--       keeps its member as conv.indexed, so a changed name replaces it.
--       Entries older than the conversation TTL leave it at each save; the
--       whole index expires a TTL after the last save.
--   store.member(id, conv) -> the index member;  store.member_id(member) -> id
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
local time = require "time"

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

function M.load(tenant, id, also)
  local key = M.key(tenant, id)
  local cmds = { { "GET", key }, { "EXISTS", key .. ":seen" } }
  for i, cmd in ipairs(also or {}) do cmds[2 + i] = cmd end
  local r, err = redis.pipeline(cmds)
  if not r then return nil, err end
  local replies = {}
  for i = 1, also and #also or 0 do replies[i] = r[2 + i] end
  if type(r[1]) == "table" then return nil, r[1].err end
  if type(r[1]) == "string" then
    local conv = json.decode(r[1])
    if type(conv) == "table" then
      conv.id, conv.tenant = id, tenant
      table_field(conv, "slots"); table_field(conv, "data"); table_field(conv, "history")
      return conv, "found", replies
    end
    require("log").warn("conversation record unreadable, starting anew", { tenant = tenant, conversation = id })
  end
  return { id = id, tenant = tenant, slots = {}, data = {}, history = {}, turns = 0 },
         r[2] == 1 and "expired" or "new", replies
end

--- Appends to the conversation's recent history (kept to 20 entries).
--- Only this adds to it (flows see a read-only view, c:history copies), and
--- only strings: save takes the history as it is.
function M.remember(conv, who, text)
  local h = conv.history
  h[#h + 1] = { who = tostring(who), text = type(text) == "string" and text or nil }
  while #h > HISTORY do table.remove(h, 1) end
end

function M.index(tenant)
  identity.check_tenant(tenant, "store")
  return "fh:convs:{" .. tenant .. "}"
end

local function clean(v)
  if type(v) == "number" then v = tostring(v) end
  if type(v) ~= "string" then return "" end
  return v:sub(1, 80):lower():gsub("[%c]", " ")
end

function M.member(id, conv)
  local slots = type(conv.slots) == "table" and conv.slots or {}
  return clean(slots.name) .. "\t" .. clean(slots.phone):gsub("%D", "") .. "\t" .. id
end

function M.member_id(member)
  return member:match("^[^\t]*\t[^\t]*\t(.*)$") or member
end

function M.save(tenant, id, conv, ttl, fence)
  local key = M.key(tenant, id)
  -- the history is JSON data only (read from JSON, added to by remember)
  local h = conv.history
  local plain, problems = readonly.plain(conv, { name = "conversation",
    as_is = type(h) == "table" and not readonly.is_view(h) and { [h] = true } or nil })
  if problems[1] then
    require("log").warn("the conversation held values a conversation cannot keep; they were not saved",
      { tenant = tenant, conversation = id, what = table.concat(problems, "; ") })
  end
  plain.id, plain.tenant = id, tenant
  local now = time.now()
  local index, member, old = M.index(tenant), M.member(id, plain), plain.indexed
  plain.indexed = member
  conv.indexed = member
  -- the tenant's index (the studio's list and search; another hash tag
  -- than the record's: its own commands, never in the record's script)
  local listed = {
    { "ZADD", index, now, member },
    { "ZREMRANGEBYSCORE", index, "-inf", "(" .. (now - math.floor(ttl)) },
    { "EXPIRE", index, math.floor(ttl) },   -- (every entry is older than that by then)
    -- (the member under the conversation's earlier name)
    type(old) == "string" and old ~= member and { "ZREM", index, old } or { "ECHO", "" },
  }
  if fence then
    local n, err = SAVE_FENCED:run({ key, key .. ":seen", lock.fence_key(M.lock_key(tenant, id)) },
      { json.encode(plain), math.floor(ttl), math.max(SEEN_TTL, math.floor(ttl)), fence })
    if n == nil then return nil, err end
    if n == 0 then
      require("log").warn("conversation not saved: its lock was taken by a newer turn (this one's lease ran out)",
        { tenant = tenant, conversation = id })
      return nil, "stale lock"
    end
    local ok, lerr = redis.pipeline(listed)
    if not ok then require("log").warn("the conversation list was not updated", { tenant = tenant, err = lerr }) end
    return true, plain
  end
  local cmds = {
    { "SET", key, json.encode(plain), "EX", math.floor(ttl) },
    { "SET", key .. ":seen", "1", "EX", math.max(SEEN_TTL, math.floor(ttl)) },
  }
  for _, cmd in ipairs(listed) do cmds[#cmds + 1] = cmd end
  local r, err = redis.pipeline(cmds)
  if not r then return nil, err end
  if type(r[1]) == "table" then return nil, r[1].err end
  return true, plain
end

function M.reset(tenant, id)
  local key = M.key(tenant, id)
  local raw = redis.call("GET", key)
  local _, err = redis.call("DEL", key, key .. ":seen")
  if err then return nil, err end
  local conv = type(raw) == "string" and json.decode(raw)
  if type(conv) == "table" and type(conv.indexed) == "string" then redis.call("ZREM", M.index(tenant), conv.indexed) end
  return true
end

return M
