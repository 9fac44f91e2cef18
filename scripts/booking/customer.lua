--- booking.customer: one customer's view of a tenant's booking engine, the
--- only booking object a flow gets (c.booking). The view is bound to the
--- identity the channel verified (flow.identity.of): the WhatsApp, Twilio or
--- WAPI sender number, the Telegram user, or the JSON chat API conversation.
--
--   customer.view(engine, who) -> view       (called by booking.lua's
--       engine:for_customer(who); who = {conversation, channel, verified, phone?})
--   customer.locked(target, methods, names) -> a read-only proxy whose
--       fields are `names`, each methods[name] bound to target
--
-- The view's methods (all yield; the same arguments and results as the
-- engine's, see scripts/booking.lua):
--   view:get(id)                   the booking, or nil, "not found" unless it is this customer's
--   view:by_customer(phone_or_email)  this customer's bookings under that phone or email only
--   view:mine()                    this customer's live (held or confirmed) bookings
--                                  that have not ended, soonest first
--   view:cancel(id, reason) / view:confirm(id) / view:reschedule(id, start, resource?)
--                                  nil, "not found" unless the booking is this customer's
--   view:reserve{...}              books for this customer: the booking records
--                                  owner = who.verified, conversation and channel
--                                  from who (the flow cannot choose them); the
--                                  tenant's limits apply: `holds_per_customer`
--                                  live holds (a new hold replaces the oldest),
--                                  `bookings_per_minute` per tenant (nil, "rate limited")
--   view:slots{...} / view:next_free{...} / view:order(...)   availability, unchanged
-- A conversation a person has taken over (flow.handoff) changes nothing:
-- reserve, confirm, reschedule and cancel answer nil, "handed over".
-- Another customer's booking gets exactly the answer a missing one gets:
-- nil, "not found" (or an empty list), so a lookup reveals nothing.
-- The view is a locked proxy: writing a field raises "this object is
-- read-only"; rawset on it changes only the proxy table, never the engine
-- or the identity, which live in closures.
local handoff = require "flow.handoff"

local M = {}

local function read_only() error("this object is read-only", 2) end

-- an empty table whose fields are read from `fields` and cannot be written
local function proxy(fields)
  return setmetatable({}, { __index = fields, __newindex = read_only, __metatable = false })
end

function M.locked(target, methods, names)
  local bound = {}
  for _, name in ipairs(names) do
    local fn = methods[name]
    bound[name] = function(_, ...) return fn(target, ...) end
  end
  return proxy(bound)
end

local LIVE = { held = true, confirmed = true }

local function text(v, max)
  if type(v) == "number" then v = tostring(v) end
  if type(v) ~= "string" then return nil end
  return v:sub(1, max or 200)
end

function M.view(engine, who)
  if type(who) ~= "table" or type(who.verified) ~= "string" or who.verified == ""
     or type(who.conversation) ~= "string" or who.conversation == "" then
    error("booking: for_customer(who) needs the identity the channel verified (flow.identity.of(conversation))", 2)
  end
  -- copied once: nothing the flow does later changes whom this view serves
  local owner, conv, channel = who.verified, who.conversation, who.channel
  local legacy = channel ~= "chat"      -- bookings made before owners were recorded

  local function mine(b)
    if type(b) ~= "table" then return false end
    if b.owner ~= nil then return b.owner == owner end
    return legacy and b.conversation == conv
  end

  local function owned(id)
    if type(id) ~= "string" or id == "" or #id > 64 then return nil, "not found" end
    local b, err = engine:get(id)
    if not b then return nil, err end
    if not mine(b) then return nil, "not found" end
    return b
  end

  local function only_mine(list, err)
    if not list then return nil, err end
    local out = {}
    for _, b in ipairs(list) do if mine(b) then out[#out + 1] = b end end
    return out
  end

  -- a booking write goes ahead unless a person has taken the conversation over
  local function writable()
    if handoff.active(engine.tenant, conv) then return nil, "handed over" end
    return true
  end

  local api = {}
  function api.get(_, id) return owned(id) end

  function api.by_customer(_, key)
    key = text(key, 128)
    if not key or key == "" then return {} end
    return only_mine(engine:by_customer(key))
  end

  function api.mine()
    local list, err = engine:by_owner(owner)
    if not list then return nil, err end
    local out = {}
    for _, b in ipairs(list) do if LIVE[b.status] then out[#out + 1] = b end end
    return out
  end

  function api.cancel(_, id, reason)
    local w, werr = writable()
    if not w then return nil, werr end
    local b, err = owned(id)
    if not b then return nil, err end
    return engine:cancel(b.id, text(reason) or "cancelled by the customer")
  end

  function api.confirm(_, id)
    local w, werr = writable()
    if not w then return nil, werr end
    local b, err = owned(id)
    if not b then return nil, err end
    return engine:confirm(b.id)
  end

  function api.reschedule(_, id, new_start, resource)
    local w, werr = writable()
    if not w then return nil, werr end
    local b, err = owned(id)
    if not b then return nil, err end
    if resource ~= nil and type(resource) ~= "string" then error("booking.reschedule: resource must be a resource id", 2) end
    return engine:reschedule(b.id, new_start, resource)
  end

  function api.reserve(_, q)
    if type(q) ~= "table" then error("booking.reserve: needs a table of arguments", 2) end
    local w, werr = writable()
    if not w then return nil, werr end
    local c = type(q.customer) == "table" and q.customer or {}
    return engine:reserve({
      service = q.service, start = q.start, resource = q.resource, area = q.area, addons = q.addons,
      preferred = q.preferred, refs = q.refs, hold = q.hold and true or nil,
      idempotency_key = text(q.idempotency_key, 128),
      customer = { name = text(c.name), phone = text(c.phone, 32), email = text(c.email) },
    }, { owner = owner, conversation = conv, channel = channel })
  end

  function api.slots(_, q) return engine:slots(q) end
  function api.next_free(_, q) return engine:next_free(q) end
  function api.order(_, ...) return engine:order(...) end

  return proxy(api)
end

return M
