--- flow.handoff: a conversation a person has taken over. While the mark
--- is set, nothing the bot does for that conversation may change a booking:
--- the customer's booking view (booking.customer) refuses writes with
--- "handed over", and Vapi answers a handed-over call's tool calls with the
--- transfer text without running a turn.
--
--   handoff.mark(tenant, conversation, seconds, reason) -> true | nil, err
--   handoff.active(tenant, conversation) -> reason | nil
--   handoff.clear(tenant, conversation)
--
-- tenant is the base tenant ("salesco" for "salesco.anna"). Key:
-- fh:handoff:{<tenant>}:<conversation> (docs/redis-keys.md).
local redis = require "redis"

local M = {}

local function key(tenant, conversation)
  local base = tostring(tenant):match("^([^.]+)")
  return ("fh:handoff:{%s}:%s"):format(base, tostring(conversation))
end
M.key = key

function M.mark(tenant, conversation, seconds, reason)
  local ok, err = redis.call("SET", key(tenant, conversation), tostring(reason or "handed over"),
                             "EX", math.max(1, math.floor(tonumber(seconds) or 3600)))
  if ok ~= "OK" then return nil, err or "storage" end
  return true
end

function M.active(tenant, conversation)
  local v = redis.call("GET", key(tenant, conversation))
  if type(v) == "string" then return v end
  return nil
end

function M.clear(tenant, conversation) redis.call("DEL", key(tenant, conversation)) end

return M
