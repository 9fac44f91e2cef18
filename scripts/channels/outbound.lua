--- channels.outbound: messages the business starts (reminders, follow-ups,
--- an operator's message), outside the reply to an inbound message.
--
--   outbound.window_open(tenant, channel, to) -> true | false
--       channels with a service window (WhatsApp: 24 h after the customer's
--       last message) are open only then; the others always
--   outbound.send(tenant, channel, to, message, settings, journal?) -> true, id | nil, err
--       message = {text, buttons?} or {template = {name, language, params}}
--       err: "template required" (the window is closed and this is no
--       template), "channel not enabled", or the adapter's error
--       journal: a Redis key; the send is marked there as it goes on the
--       wire (see channels/consumer.lua); a key marked "sent" means it went
--       out: true, "in doubt" without sending; one still marked "sending"
--       (a host died mid-send) is in doubt: sent again under the tenant's
--       in_doubt = "resend" (the default), else counted as sent (channels.doubt)
--   outbound.later(due, tenant, channel, to, message, id?) -> timer id
--       a durable timer (survives restarts, fires once) that sends it then;
--       a closed window at that time without a template is logged, not retried
local redis = require "redis"
local registry = require "channels.registry"
local inbound = require "channels.inbound"
local doubt = require "channels.doubt"

local M = {}

function M.window_open(tenant, channel, to)
  local adapter = registry.adapter(channel)
  if not adapter or not adapter.window then return true end
  if adapter.window_for and not adapter.window_for(to) then return true end   -- (Twilio SMS)
  return redis.call("EXISTS", inbound.window_key(tenant, channel, to)) == 1
end

local JOURNAL_TTL = 7 * 24 * 3600

function M.send(tenant, channel, to, message, settings, journal)
  local adapter = registry.adapter(channel)
  if not adapter or adapter.synchronous then return nil, "channel not enabled" end
  local creds, why = registry.creds(settings, channel)
  if not creds then return nil, why end
  if not message.template and not M.window_open(tenant, channel, to) then return nil, "template required" end
  if journal then
    local mark = redis.call("GET", journal)
    if mark == "sending" then
      local resend = doubt.rule(settings) == "resend"
      doubt.note(tenant, resend and "resent" or "skipped", { channel = channel, conversation = to, journal = journal })
      if not resend then return true, "in doubt" end
    elseif type(mark) == "string" then
      return true, "in doubt"
    end
  end
  local ok, id = adapter.send(creds, to, message, journal and { "SET", journal, "sending", "EX", JOURNAL_TTL })
  if journal then
    if ok then redis.call("SET", journal, "sent", "EX", JOURNAL_TTL)
    else redis.call("DEL", journal) end             -- not sent: a retry may send it
  end
  if not ok then return nil, id end
  if id then require("channels.receipts").record(tenant, id, { status = "accepted", conversation = to }) end
  return true, id
end

local timer = require "timer"

function M.later(due, tenant, channel, to, message, id)
  return timer.at(due, "outbound", { tenant = tenant, channel = channel, to = to, message = message },
                  id and { id = id } or nil)
end

--- The handler of "outbound" timers (registered in every worker's main state).
--- Each firing is journaled by its timer id: a host killed mid-send does not
--- send it a second time when the timer fires again.
function M.fire(p, info)
  local tenants = require "flow.tenants"
  local st = tenants.status(p.tenant)
  if not st then return end                           -- the tenant is gone: nothing to send
  local journal = info and info.id and ("fh:outj:{%s}:%s"):format(p.tenant, info.id) or nil
  local ok, err = M.send(p.tenant, p.channel, p.to, p.message, st.settings, journal)
  if ok or err == "template required" or err == "channel not enabled" then
    if not ok then require("log").warn("scheduled message not sent", { tenant = p.tenant, err = err }) end
    return
  end
  error("scheduled message: " .. tostring(err), 0)     -- retried by the timer with backoff
end

return M
