--- channels.outbound: messages the business starts (reminders, follow-ups,
--- an operator's message), outside the reply to an inbound message.
--
--   outbound.window_open(tenant, channel, to) -> true | false
--       channels with a service window (WhatsApp: 24 h after the customer's
--       last message) are open only then; the others always
--   outbound.send(tenant, channel, to, message, settings) -> true, id | nil, err
--       message = {text, buttons?} or {template = {name, language, params}}
--       err: "template required" (the window is closed and this is no
--       template), "channel not enabled", or the adapter's error
--   outbound.later(due, tenant, channel, to, message, id?) -> timer id
--       a durable timer (survives restarts, fires once) that sends it then;
--       a closed window at that time without a template is logged, not retried
local redis = require "redis"
local registry = require "channels.registry"
local inbound = require "channels.inbound"

local M = {}

function M.window_open(tenant, channel, to)
  local adapter = registry.adapter(channel)
  if not adapter or not adapter.window then return true end
  return redis.call("EXISTS", inbound.window_key(tenant, channel, to)) == 1
end

function M.send(tenant, channel, to, message, settings)
  local adapter = registry.adapter(channel)
  if not adapter or adapter.synchronous then return nil, "channel not enabled" end
  local creds, why = registry.creds(settings, channel)
  if not creds then return nil, why end
  if not message.template and not M.window_open(tenant, channel, to) then return nil, "template required" end
  local ok, id = adapter.send(creds, to, message)
  if not ok then return nil, id end
  if id then redis.call("HSET", "fh:sent:{" .. tenant .. "}", id, require("json").encode{ status = "accepted", conversation = to }) end
  return true, id
end

local timer = require "timer"

function M.later(due, tenant, channel, to, message, id)
  return timer.at(due, "outbound", { tenant = tenant, channel = channel, to = to, message = message },
                  id and { id = id } or nil)
end

--- The handler of "outbound" timers (registered in every worker's main state).
function M.fire(p)
  local tenants = require "flow.tenants"
  local st = tenants.status(p.tenant)
  if not st then return end                           -- the tenant is gone: nothing to send
  local ok, err = M.send(p.tenant, p.channel, p.to, p.message, st.settings)
  if ok or err == "template required" or err == "channel not enabled" then
    if not ok then require("log").warn("scheduled message not sent", { tenant = p.tenant, err = err }) end
    return
  end
  error("scheduled message: " .. tostring(err), 0)     -- retried by the timer with backoff
end

return M
