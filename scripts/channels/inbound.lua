--- channels.inbound: the durable inbound queue of asynchronous channels.
--
--   inbound.accept(tenant, channel, msg) -> "queued" | "duplicate" | nil, err
--       drops a message the provider delivered before (by its message id,
--       for 7 days), else appends it to the tenant's stream
--   inbound.stream(tenant) / inbound.dead(tenant) -> stream keys
--
-- Stream entries: channel, id (the provider's message id), conversation,
-- msg (JSON {text | button}), name. A worker of the tenant's process reads
-- them with a consumer group (channels.consumer).
local redis = require "redis"
local json = require "json"

local M = {}

local DEDUPE_TTL = 7 * 24 * 3600
local WINDOW = 24 * 3600

--- The key that exists while the customer's last message is under 24 h old.
function M.window_key(tenant, channel, conversation)
  return ("fh:window:{%s}:%s:%s"):format(tenant, channel, tostring(conversation))
end

function M.stream(tenant) return "fh:in:{" .. tenant .. "}" end
function M.dead(tenant) return "fh:dead:{" .. tenant .. "}" end
function M.dedupe_key(tenant, channel, id) return ("fh:seen:{%s}:%s:%s"):format(tenant, channel, id) end

function M.accept(tenant, channel, msg)
  local set, err = redis.call("SET", M.dedupe_key(tenant, channel, msg.id), "1", "NX", "EX", DEDUPE_TTL)
  if set == nil and err then return nil, err end
  if set ~= "OK" then return "duplicate" end
  local payload = { text = msg.text, button = msg.button, kind = msg.kind, callback = msg.callback,
                    media = msg.media, location = msg.location, contacts = msg.contacts }
  local id
  id, err = redis.call("XADD", M.stream(tenant), "*", "channel", channel, "id", msg.id,
    "conversation", msg.conversation, "name", msg.name or "", "msg", json.encode(payload))
  if not id then
    redis.call("DEL", M.dedupe_key(tenant, channel, msg.id))   -- let the provider's retry in
    return nil, err
  end
  -- the customer wrote: the channel's service window (WhatsApp: 24 h) is open
  redis.call("SET", M.window_key(tenant, channel, msg.conversation), math.floor(require("time").now()), "EX", WINDOW)
  return "queued"
end

return M
