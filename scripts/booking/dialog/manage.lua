--- booking.dialog.manage: an existing booking: find it, then move it to
--- another day and time, or cancel it.
--
-- A customer only ever finds their own bookings: c.booking shows the
-- bookings of the person the channel vouches for (their WhatsApp number,
-- their Telegram account, or this web chat). Someone else's booking id or
-- number gets the same "couldn't find" answer as one that does not exist.
-- Notes kept in c.data: manage (the booking's id), manage_action
-- ("reschedule" | "cancel"), asked_ref, new_date, start.
--
--   manage.find(k, c)          find_booking: the SR- id or number in the message, else their next booking
--   manage.vars(k, c)          {id, service, when} of the booking
--   manage.new_date(k, c)      resched_date's reply: read the new day
--   manage.offer(k, c)         resched_time's enter: that day's free times
--   manage.move(k, c)          resched_time's reply: move the booking
--   manage.cancel(k, c)        cancel_existing's yes
--   manage.start(action)       an intent handler: find a booking to reschedule or cancel
local tz = require "tz"
local extract = require "text.extract"
local times = require "booking.dialog.times"
local hooks = require "booking.dialog.hooks"

local M = {}

local LIVE = { held = true, confirmed = true }

-- "SR-AB12CD34", "sr ab12cd34": a booking id as the tenant's engine makes them
local function id_pattern(c, len)
  local id = c.tenant.booking and c.tenant.booking.id or {}
  local prefix = id.prefix or "BK-"
  local letters = prefix:upper():gsub("[^%w]", "")
  return prefix, letters .. " ?%-? ?(" .. ("%w"):rep(len or id.length or 8) .. ")"
end

local function id_in(c, text)
  local prefix, pattern = id_pattern(c)
  local code = (text or ""):upper():gsub("%s+", " "):match(pattern)
  return code and (prefix .. code)
end

--- does the text mention a booking id (the start of one is enough)?
function M.mentions_id(c, text)
  local _, pattern = id_pattern(c, 1)
  return text:upper():find(pattern) ~= nil
end

-- the first booking of a list that is still on and still ahead
local function upcoming(c, list)
  for _, b in ipairs(list or {}) do
    if LIVE[b.status] and b.start > c:now() then return b end
  end
end

function M.find(k, c)
  local text = c.msg.text or ""
  local id, phone = id_in(c, text), extract.phone_in(text)
  local b
  if id then
    b = c.booking:get(id)
  elseif phone then
    b = upcoming(c, c.booking:by_customer(phone))
  else
    b = upcoming(c, c.booking:mine())
    if not b and not c.data.asked_ref then
      c.data.asked_ref = true
      return c:say(k.msg.ask_booking_ref)
    end
  end
  if not b or not LIVE[b.status] then return c:say(k.msg.booking_not_found) end
  c.data.asked_ref = nil
  c.data.manage = b.id
  c:go(c.data.manage_action == "cancel" and "cancel_existing" or "resched_date")
end

local function booking(c) return c.booking:get(c.data.manage) or {} end

function M.vars(k, c)
  local b = booking(c)
  local service = b.service
  for _, s in ipairs(c.tenant.catalogue and c.tenant.catalogue.services or {}) do
    if s.id == b.service then service = s.title end
  end
  return { id = b.id, service = service, when = b.start and times.at(c, b.start) or "",
           resource = times.resource(c, b.resource) }
end

function M.new_date(k, c)
  local zone = c.tenant.timezone
  local date = extract.date(c.msg.text or "", { now = c:now(), zone = zone })
  if not date then return c:say(k.msg.bad_date) end
  if date < tz.date(c:now(), zone) then return c:say(k.msg.date_past) end
  local rules = c.tenant.booking and c.tenant.booking.rules
  local horizon = rules and rules.horizon_days
  if horizon and date > tz.date(tz.add_days(c:now(), horizon, zone), zone) then
    return c:say(k.msg.date_too_far)
  end
  c.data.new_date = date
  c:go("resched_time")
end

local function day_vars(c) return { date = times.day(c, c.data.new_date) } end

-- a booking moves within its own place and person (the engine keeps them)
local function where(b) return { area = b.area, resource = b.resource } end

function M.offer(k, c)
  local b = booking(c)
  local starts, err = times.free(c, c.data.new_date, b.service, b.addons, where(b))
  if err then
    c:say(k.msg.times_unavailable)
    return c:go("resched_date")
  end
  if #starts == 0 then
    times.none(c, k.msg, c.data.new_date, b.service, b.addons, nil, where(b))
    return c:go("resched_date")
  end
  times.offer(c, starts, k.msg.pick_time, day_vars(c), k.max_times)
end

function M.move(k, c)
  local start, why = times.pick(c)
  if not start then
    if why == "not free" then return times.offer(c, c.data.free, k.msg.time_not_free, day_vars(c), k.max_times) end
    return false
  end
  local b, err = c.booking:reschedule(c.data.manage, start)
  if not b then
    if err == "rate limited" then return c:say(k.msg.busy_now) end
    if err == "calendar unavailable" then return c:say(k.msg.times_unavailable) end
    if err ~= "slot taken" and err ~= "not available" then
      require("log").warn("reschedule failed", { err = tostring(err) })
      return c:say(k.msg.try_again)
    end
    local b0 = booking(c)
    local starts = times.free(c, c.data.new_date, b0.service, b0.addons, where(b0))
    if #starts == 0 then
      times.none(c, k.msg, c.data.new_date, b0.service, b0.addons, true, where(b0))
      return c:go("resched_date")
    end
    return times.offer(c, starts, k.msg.slot_taken, day_vars(c), k.max_times)
  end
  c.data.start = start
  c:go("rescheduled")
  hooks.after(k, c, "rescheduled", b)
end

function M.cancel(k, c)
  local b = c.booking:cancel(c.data.manage, "customer asked in chat")
  if not b then
    c:say(k.msg.booking_not_found)
    return c:go("kept")
  end
  c:go("booking_cancelled")
  hooks.after(k, c, "cancelled", b)
end

function M.start(c, action)
  c.data.manage_action = action
  c:go("find_booking")
end

return M
