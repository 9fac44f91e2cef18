--- flow.identity: who is on the other end of a conversation, and which
--- tenant this Lua state serves. Both are decided by the runtime from what
--- the host routed; nothing a flow holds can change them.
--
--   identity.of(conv_id) -> who
--       who = {conversation = conv_id,
--              channel  = "whatsapp" | "twilio" | "wapi" | "telegram" | "vapi" | "chat",
--              verified = "<channel>:<address>" for a channel conversation (its id),
--                         "chat:<id>" for a JSON chat API conversation,
--              phone    = the address's digits on a phone channel (whatsapp,
--                         twilio, wapi), else nil}
--       A channel conversation's id is "<channel>:<address>", made by the
--       host from the sender the vendor signed; a chat API conversation's
--       id carries "chat:" (an id without a known channel is a chat one).
--       Raises on an id that is not a string. A fresh table each call.
--   identity.route(tenant_id)   this state serves tenant_id (and its reps),
--       for good: set once by host.tenant_boot; setting another id raises
--   identity.routed() -> the routed tenant id, or nil outside a tenant state
--   identity.check_tenant(id, fn?) -> id; raises unless id is a tenant id
--       and, in a tenant state, the routed tenant or "<routed>.<rep>"
--       (fn names the caller in the error)
local M = {}

local PHONE_CHANNELS = { whatsapp = true, twilio = true, wapi = true }
local CHANNELS = { whatsapp = true, twilio = true, wapi = true, telegram = true, vapi = true, chat = true }
M.CHANNELS = CHANNELS

local routed = nil                 -- an upvalue: no table a flow can reach holds it

local ID = "^[%w][%w_%-]*$"

function M.route(id)
  if type(id) ~= "string" or not id:match(ID) then
    error(("identity.route: '%s' is not a tenant id"):format(tostring(id)), 2)
  end
  if routed ~= nil and routed ~= id then
    error(("identity.route: this state serves tenant '%s'; it cannot serve '%s' too"):format(routed, id), 2)
  end
  routed = id
end

function M.routed() return routed end

function M.check_tenant(id, fn)
  fn = fn or "tenant"
  if type(id) ~= "string" then error(("%s: tenant id must be a string, got %s"):format(fn, type(id)), 3) end
  local base, rep = id:match("^([^.]+)%.(.+)$")
  base = base or id
  if not base:match(ID) or (rep and not rep:match("^[%w_%-]+$")) then
    error(("%s: '%s' is not a tenant id"):format(fn, id), 3)
  end
  if routed ~= nil and base ~= routed then
    error(("%s: this state serves tenant '%s', not '%s'"):format(fn, routed, id), 3)
  end
  return id
end

function M.of(conv_id)
  if type(conv_id) ~= "string" then
    error("identity.of(conversation id): the id must be a string, got " .. type(conv_id), 2)
  end
  local channel, address = conv_id:match("^(%w+):(.+)$")
  if not (channel and CHANNELS[channel]) then
    return { conversation = conv_id, channel = "chat", verified = "chat:" .. conv_id }
  end
  local who = { conversation = conv_id, channel = channel, verified = conv_id }
  if PHONE_CHANNELS[channel] then
    local digits = address:gsub("%D", "")
    if digits ~= "" then who.phone = digits end
  end
  return who
end

return M
