--- flow.timers: a flow's own timers (c:after, c:at, c:cancel_timer) on the
--- durable timer machinery (scripts/timer.lua), fired as a turn of their
--- conversation.
--
--   timers.schedule(tenant, conv, due, handler, data) -> id | nil, err
--       (tenant state) a timer of kind "flow" whose id names the tenant:
--       "flow:<tenant>:<random>"
--   timers.cancel(tenant, conv, id) -> true | nil, "not found"
--       only a timer of this tenant and this conversation; a cancelled
--       timer never runs its handler, even one already claimed by a host
--       (the tombstone is read under the conversation's lock)
--   timers.cancelled(tenant, id) -> bool      (read by flow.engine.timer)
--   timers.fire(payload, info)                (main state) the handler of
--       kind "flow": runs the flow's timers[handler](c, data) as a turn of
--       the conversation (locked, idempotent by the timer id like a
--       redelivered message), then sends its replies on the conversation's
--       channel, each journaled by timer id and reply number (a host killed
--       mid-send does not send it twice). A JSON chat API conversation keeps
--       the replies in its history (the client reads them back).
--
-- Keys: fh:tcancel:{<tenant>}:<id> (7 days), fh:tjournal:{<tenant>}:<id>:<n>
-- (7 days, through channels.outbound), docs/redis-keys.md.
local timer = require "timer"
local redis = require "redis"
local json = require "json"
local crypto = require "crypto"
local identity = require "flow.identity"

local M = {}

local KEEP = 7 * 24 * 3600
M.KIND = "flow"

local function base(tenant) return (tostring(tenant):match("^([^.]+)")) end
local function tombstone(tenant, id) return ("fh:tcancel:{%s}:%s"):format(base(tenant), id) end

function M.schedule(tenant, conv, due, handler, data)
  local id = ("flow:%s:%s"):format(base(tenant), crypto.random_hex(10))
  return timer.at(due, M.KIND, { tenant = tenant, conv = conv, handler = handler, data = data }, { id = id })
end

-- the record of a pending or claimed timer, when it is this tenant's and
-- this conversation's
local function own(tenant, conv, id)
  if type(id) ~= "string" or id:sub(1, #base(tenant) + 6) ~= "flow:" .. base(tenant) .. ":" then return nil end
  local rec = redis.call("HGET", timer.keys.data, id)
  rec = type(rec) == "string" and json.decode(rec) or nil
  local p = type(rec) == "table" and rec.payload or nil
  if type(p) ~= "table" or p.conv ~= conv or base(p.tenant) ~= base(tenant) then return nil end
  return rec
end

function M.cancel(tenant, conv, id)
  if not own(tenant, conv, id) then return nil, "not found" end
  redis.call("SET", tombstone(tenant, id), "1", "EX", KEEP)
  timer.cancel(id)
  return true
end

function M.cancelled(tenant, id)
  return type(id) == "string" and redis.call("EXISTS", tombstone(tenant, id)) == 1
end

-- the replies of a timer's turn, on the conversation's channel
local function deliver(p, info, replies)
  local who = identity.of(p.conv)
  if who.channel == "chat" then return end             -- read back through the chat API
  local tenants = require "flow.tenants"
  local outbound = require "channels.outbound"
  local st = tenants.status(base(p.tenant))
  if not st then return end
  local to = who.verified:sub(#who.channel + 2)
  for i, reply in ipairs(replies or {}) do
    local journal = ("fh:tjournal:{%s}:%s:%d"):format(base(p.tenant), info.id, i)
    local rep = p.tenant:match("^[^.]+%.(.+)$")          -- a sales rep's own channel, if they have one
    local ok, err = outbound.send(base(p.tenant), who.channel, to, { text = reply.text, buttons = reply.buttons },
                                  require("channels.registry").for_rep(st.settings, rep), journal)
    if not ok then
      if err == "template required" or err == "channel not enabled" then
        require("log").warn("timer reply not sent", { tenant = p.tenant, conversation = p.conv, err = err })
        return
      end
      error("timer reply: " .. tostring(err), 0)        -- retried by the timer, journal keeps sent ones sent
    end
  end
end

function M.fire(p, info)
  if type(p) ~= "table" or type(p.tenant) ~= "string" or type(p.conv) ~= "string" then return end
  local turns = require "channels.turn"
  local res, err = turns.run(p.tenant, p.conv, { timer = p.handler, timer_id = info.id, data = p.data },
                             { mid = "timer:" .. info.id })
  if not res then
    if err == "unknown tenant" then return end          -- the tenant is gone: nothing to run
    error("timer turn: " .. tostring(err), 0)
  end
  deliver(p, info, res.replies)
end

M.KEEP = KEEP
return M
