-- A Zoom call with the rep: free times (the rep's hours minus their Google
-- Calendar's busy time, through the rep's booking engine), then one booking,
-- one Zoom meeting and one calendar event with the join link. Every change
-- has a key made from the booking id: a retried turn (or the prospect
-- tapping the time again after a failure) makes nothing twice.
local tz = require "tz"

local M = {}

local OFFER = 4                 -- times offered at once
local DAYS = 3                  -- days looked at before "all busy"

local function when(t, zone)
  local l = tz.local_time(t, zone)
  local days = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" }
  return ("%s %02d/%02d %02d:%02d"):format(days[l.wday], l.day, l.month, l.hour, l.min)
end
M.when = when

local function iso_utc(t) return tz.format_iso(t, "UTC"):gsub("%+00:00$", "Z") end

--- The times to offer from `from` on: up to OFFER spread over DAYS days.
--- -> list of unix times | nil, err ("calendar unavailable", ...)
function M.free(c, from)
  local slots, err = c.booking:slots{ service = "call", from = from, to = from + DAYS * 86400 }
  if not slots then return nil, err end
  local out, step = {}, math.max(1, math.floor(#slots / OFFER))
  for i = 1, #slots, step do
    if #out < OFFER then out[#out + 1] = slots[i].start end
  end
  return out
end

--- Offers times as buttons (c.data.offered = the times); says
--- all_busy (with the next free time) or calendar_down instead when it must.
function M.offer(c)
  local zone = c.tenant.timezone
  local times, err = M.free(c, c:now())
  if not times then
    return c:say(err == "calendar unavailable" and "calendar_down" or "booking_failed")
  end
  if #times == 0 then
    local nxt = c.booking:next_free{ service = "call", from = c:now() + DAYS * 86400 }
    c.data.offered = nil
    if nxt then return c:say("all_busy", { next = when(nxt.start, zone) }) end
    return c:say("all_busy_long")
  end
  local buttons = {}
  for i, t in ipairs(times) do buttons[i] = { id = "t" .. t, title = when(t, zone) } end
  c.data.offered = times
  c:say("pick_time", { zone = zone }, { buttons = buttons })
end

--- The offered time the prospect picked (a button, "2", "#2"), or nil.
function M.picked(c, msg)
  local offered = c.data.offered or {}
  local b = msg.button and tostring(msg.button):match("^t(%d+)$")
  if b then
    for _, t in ipairs(offered) do if t == tonumber(b) then return t end end
    return nil
  end
  local n = tonumber(((msg.text or ""):match("^%s*#?(%d)%s*$")))
  return n and offered[n]
end

--- Books `start`: the booking, the Zoom meeting, the calendar event.
--- -> {id, link, start} | nil, message key to say
function M.book(c, start, email, summary)
  local b, how = c.booking:reserve{ service = "call", start = start, customer = { email = email },
                                    idempotency_key = "call:" .. start .. ":" .. email }
  if not b then
    if how == "slot taken" or how == "not available" then return nil, "slot_gone" end
    if how == "calendar unavailable" then return nil, "calendar_down" end
    return nil, "booking_failed"
  end
  local zone, rep = c.tenant.timezone, c.tenant.name
  local meeting, zerr = c.connectors.zoom:create_meeting({
    topic = "Call with " .. rep, type = 2, start_time = iso_utc(b.start), timezone = zone, duration = 30,
    agenda = summary, settings = { join_before_host = false, waiting_room = true },
  }, { key = "zoom:" .. b.id })
  if not meeting then
    require("log").warn("zoom meeting not made", { err = zerr, booking = b.id })
    return nil, "booking_failed"
  end
  local cal = c.tenant.calendar and c.tenant.calendar.google or "primary"
  local event, gerr = c.connectors.google_calendar:insert_event(cal, {
    summary = "Zoom call: " .. email, description = "Join: " .. meeting.join_url .. "\n" .. summary,
    start = { dateTime = iso_utc(b.start) }, ["end"] = { dateTime = iso_utc(b["end"]) },
    attendees = { { email = email } },
    location = meeting.join_url,
  }, { key = "event:" .. b.id })
  if not event then
    require("log").warn("calendar event not made", { err = gerr, booking = b.id })
    return nil, "booking_failed"
  end
  return { id = b.id, link = meeting.join_url, start = b.start }
end

return M
