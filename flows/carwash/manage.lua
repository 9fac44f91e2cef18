-- Existing bookings: find one, then reschedule or cancel it.
--
-- A customer only ever finds their own bookings: c.booking shows the
-- bookings of the person the channel vouches for (their WhatsApp number,
-- their Telegram account, or this web chat). Someone else's booking id or
-- number gets the same "couldn't find" answer as one that does not exist.
local extract = require "text.extract"

local manage = {}

local LIVE = { held = true, confirmed = true }

local function id_in(text)
  local code = (text or ""):upper():gsub("%s+", " "):match("SR ?%-? ?(%w%w%w%w%w%w%w%w)")
  return code and ("SR-" .. code)
end

-- the first booking of a list that is still on and still ahead
local function upcoming(c, list)
  for _, b in ipairs(list or {}) do
    if LIVE[b.status] and b.start > c:now() then return b end
  end
end

-- the booking the customer means: the SR- id or mobile number in their
-- message, else their own next booking; if there is none, ask once
function manage.find(c)
  local text = c.msg.text or ""
  local id, phone = id_in(text), extract.phone_in(text)
  local b
  if id then
    b = c.booking:get(id)
  elseif phone then
    b = upcoming(c, c.booking:by_customer(phone))
  else
    b = upcoming(c, c.booking:mine())
    if not b and not c.data.asked_ref then
      c.data.asked_ref = true
      return c:say("ask_booking_ref")
    end
  end
  if not b or not LIVE[b.status] then
    return c:say("booking_not_found")
  end
  c.data.asked_ref = nil
  c.data.manage = b.id
  c:go(c.data.manage_action == "cancel" and "cancel_existing" or "resched_date")
end

function manage.booking_vars(c)
  local b = c.booking:get(c.data.manage) or {}
  local times = use("times")
  local service = b.service
  for _, s in ipairs(c.tenant.catalogue.services) do if s.id == b.service then service = s.title end end
  return { id = b.id, service = service,
           when = b.start and (times.day_label(b.date) .. ", " .. times.label(c, b.start)) or "" }
end

function manage.cancel(c)
  local b, err = c.booking:cancel(c.data.manage, "customer asked in chat")
  if not b then
    c:say("booking_not_found")
    return c:go("kept")
  end
  c:go("booking_cancelled")
end

return manage
