-- Existing bookings: find one (by its SR- id or the customer's phone),
-- then reschedule or cancel it.
local extract = require "text.extract"

local manage = {}

local LIVE = { held = true, confirmed = true }

local function id_in(text)
  local code = (text or ""):upper():match("SR%s*%-?%s*(%w%w%w%w%w%w%w%w)")
  return code and ("SR-" .. code)
end

-- the booking this conversation is about, from the message or the phone
function manage.find(c)
  local text = c.msg.text
  local id = id_in(text)
  local b
  if id then
    b = c.booking:get(id)
  else
    local phone = extract.phone_in(text or "") or c.slots.phone
    if phone then
      for _, x in ipairs(c.booking:by_customer(phone) or {}) do
        if LIVE[x.status] and x.start > c:now() then b = x; break end
      end
    elseif not c.data.asked_ref then
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
