--- channels.reps: which sales rep ("<tenant>.<rep>") an inbound message of
--- a tenant with reps belongs to.
--
-- A rep connects the tenant's Telegram bot to their Telegram Business
-- account (docs/salesco.md). Telegram then sends a business_connection
-- update (the rep's user id and the connection id) and, for every message
-- in the rep's private chats, a business_message carrying that connection
-- id. The connection is mapped to the rep whose settings name that user id
-- (reps.<rep>.telegram.user_id) and kept in Redis; messages follow it.
--
--   reps.route(tenant, settings, msg, creds) -> rep | false, why | nil, err
--       (yields) rep: the message is the rep's (msg.rep is set);
--       false: nothing to answer (a connection update, the rep writing in
--       their own chat, a prospect not on the rep's list, a chat the rep has
--       taken over, a disabled connection); nil, err: Redis or Telegram
--       could not say (the provider retries).
--       A message without a business connection is the tenant's own: rep nil.
--   reps.connection(tenant, id) -> {rep, user_id, enabled, can_reply} | nil
--
-- Rep settings (config/tenants/<t>.lua, reps.<rep>.telegram):
--   user_id = 123456789         the rep's Telegram user id (required to connect)
--   prospects = "all" | {ids or "@usernames"}   whom the assistant answers
--                                                (default "all")
--   takeover_hours = 12         after the rep writes in a chat, the assistant
--                               stays out of it this long
-- Redis: fh:tgbiz:{<tenant>} (hash: connection id -> JSON),
--        fh:tgbiz:{<tenant>}:quiet:<conversation> (a chat the rep took over)
local redis = require "redis"
local json = require "json"
local log = require "log"

local M = {}

local DEFAULT_TAKEOVER_HOURS = 12

local function key(tenant) return "fh:tgbiz:{" .. tenant .. "}" end
local function quiet_key(tenant, conversation) return key(tenant) .. ":quiet:" .. conversation end

-- the rep whose settings name this Telegram user, and their settings
local function rep_of_user(settings, user_id)
  for rep, o in pairs(type(settings.reps) == "table" and settings.reps or {}) do
    local tg = type(o) == "table" and o.telegram
    if type(tg) == "table" and tonumber(tg.user_id) == tonumber(user_id) then return rep, tg end
  end
end

function M.connection(tenant, id)
  local raw = redis.call("HGET", key(tenant), id)
  return type(raw) == "string" and json.decode(raw) or nil
end

-- a business_connection update (or one read from Telegram): stored under its id
local function remember(tenant, settings, conn)
  local rep = rep_of_user(settings, conn.user_id)
  local rec = { rep = rep, user_id = conn.user_id, enabled = conn.enabled, can_reply = conn.can_reply }
  local ok, err = redis.call("HSET", key(tenant), conn.id, json.encode(rec))
  if ok == nil and err then return nil, err end
  log.info("telegram business connection", { tenant = tenant, rep = rep or "(no rep with this user id)",
                                            enabled = conn.enabled, can_reply = conn.can_reply })
  return rec
end

local function listed(tg, from)
  local list = tg and tg.prospects
  if list == nil or list == "all" then return true end
  for _, p in ipairs(type(list) == "table" and list or {}) do
    if from.id and tostring(p) == tostring(from.id) then return true end
    if from.username and tostring(p):lower() == "@" .. from.username:lower() then return true end
  end
  return false
end

function M.route(tenant, settings, msg, creds)
  if msg.kind == "business_connection" then
    local rec, err = remember(tenant, settings, msg.connection)
    if not rec then return nil, err end
    return false, "business connection"
  end
  if not msg.business then return nil end                 -- the bot's own chats: the tenant's
  local rec = M.connection(tenant, msg.business)
  if not rec then                                         -- connected before we saw it: ask Telegram
    local adapter = require "channels.telegram"
    local conn, err = adapter.business_connection(creds, msg.business)
    if not conn then return nil, "business connection unknown: " .. tostring(err) end
    rec, err = remember(tenant, settings, conn)
    if not rec then return nil, err end
  end
  if not rec.rep then return false, "no rep has this business connection's user id" end
  if not rec.enabled or not rec.can_reply then return false, "business connection disabled or without reply rights" end
  local o = type(settings.reps) == "table" and settings.reps[rec.rep]
  if type(o) ~= "table" then return false, "the rep '" .. tostring(rec.rep) .. "' is no longer in the config" end
  local tg = o.telegram
  local from = msg.from or {}
  if from.id and tonumber(from.id) == tonumber(rec.user_id) then
    -- the rep wrote in their own chat: they have taken it over
    local hours = tonumber(tg.takeover_hours) or DEFAULT_TAKEOVER_HOURS
    if hours > 0 then redis.call("SET", quiet_key(tenant, msg.conversation), "1", "EX", math.floor(hours * 3600)) end
    return false, "the rep wrote"
  end
  if not listed(tg, from) then return false, "not on the rep's prospect list" end
  if redis.call("EXISTS", quiet_key(tenant, msg.conversation)) == 1 then return false, "the rep took this chat over" end
  msg.rep = rec.rep
  return rec.rep
end

return M
