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

return M
