-- The owner and the stylists write to the salon's number:
--   "¿qué tengo hoy?" / "¿qué tengo mañana?"   their day (the owner: everyone's)
--   "¿quién viene a las 3?"                    who is booked then
--   "mueve la cita de Ana a las 5"             moves Ana's cita (that day), and tells her
--   "mándale a Ana que llego tarde"            a message to Ana, from the stylist
-- A command that lacks something asks for it, and the next message
-- finishes it ("mueve la cita de Ana" ... "a las 5"): what is pending, and
-- the last customer talked about ("dile a ella que ..."), are kept in c.data
-- with the staff member's conversation; c:history() has its recent lines.
local tz = require "tz"
local extract = require "text.extract"
local notify = use("notify")

local M = {}

local SEND = { manda = true, di = true, avisa = true, escribe = true }   -- mándale, dile, avísale, escríbele

local function plain(text)
  local t = text:lower()
  for a, b in pairs{ ["á"] = "a", ["é"] = "e", ["í"] = "i", ["ó"] = "o", ["ú"] = "u", ["¿"] = "", ["?"] = "" } do
    t = t:gsub(a, b)
  end
  return t
end

-- the day a message talks about (today unless it names one)
local function day_of(c, text)
  return extract.date(text, { now = c:now(), zone = c.tenant.timezone }) or tz.date(c:now(), c.tenant.timezone)
end

-- a time of the salon's day: "a las 5" is 17:00 (text.extract's rule for
-- a bare hour: 1-7 afternoon)
local function minutes_of(text) return extract.time(text) end

local function at(c, date, m)
  return tz.parse_iso(("%sT%02d:%02d:00"):format(date, math.floor(m / 60), m % 60), c.tenant.timezone)
end

-- whose day: a stylist sees their own citas, the owner everybody's
local function resource_of(c, person)
  return c.tenant.booking.resources[person.id] and person.id or nil
end

-- the live cita of a customer named `name` on date (or the coming week)
local function find(c, name, date)
  local dates = { date }
  for i = 1, 6 do dates[#dates + 1] = tz.date(tz.add_days(at(c, date, 12 * 60), i, c.tenant.timezone), c.tenant.timezone) end
  for _, d in ipairs(dates) do
    for _, b in ipairs(c:bookings(d)) do
      local who = b.customer and b.customer.name and plain(b.customer.name) or ""
      if b.status == "confirmed" and (who == name or who:find("^" .. name .. "%f[%A]")) then return b end
    end
  end
end

local function day(c, person, text)
  local date = day_of(c, text)
  local list = notify.lines(c, c:bookings(date, resource_of(c, person)), resource_of(c, person) == nil)
  local label = notify.when(c, at(c, date, 12 * 60)):match("^[^,]+")
  if #list == 0 then return c:say("staff_day_none", { date = label }) end
  c:say("staff_day", { n = #list, list = table.concat(list, "\n"), date = label })
end

local function who_comes(c, person, text)
  local m = minutes_of(text)
  local date = day_of(c, text)
  local found = {}
  for _, b in ipairs(c:bookings(date, resource_of(c, person))) do
    local lt = tz.local_time(b.start, c.tenant.timezone)
    if b.status == "confirmed" and lt.hour * 60 + lt.min == m then found[#found + 1] = b end
  end
  if #found == 0 then return c:say("staff_nobody_then", { time = ("%d:%02d"):format(math.floor(m / 60), m % 60) }) end
  c.data.last_customer = found[1].customer and found[1].customer.name
  local lines = notify.lines(c, found, true)
  c:say("staff_who", { list = table.concat(lines, "\n") })
end

local function move(c, name, text)
  local date = day_of(c, text)
  local b = find(c, plain(name), date)
  if not b then return c:say("staff_no_cita", { customer = name }) end
  c.data.last_customer = b.customer.name
  local m = minutes_of(text)
  if not m then
    c.data.pending = { action = "move", customer = name }
    return c:say("staff_ask_time", { customer = b.customer.name })
  end
  c.data.pending = nil
  -- the cita's own day, unless the message names another
  local named = extract.date(text, { now = c:now(), zone = c.tenant.timezone })
  local moved, err = c:move_booking(b.id, at(c, named or tz.date(b.start, c.tenant.timezone), m))
  if not moved then return c:say(err == "slot taken" and "staff_move_taken" or "staff_move_failed",
                                 { customer = b.customer.name }) end
  local v = notify.vars(c, moved)
  c:send_to(moved, "customer_moved", v, { sid = c.tenant.templates.confirmation,
                                          params = { v.customer, v.service, v.when } })
  c:say("staff_moved", v)
end

local function send(c, person, name, what)
  local b = find(c, plain(name), tz.date(c:now(), c.tenant.timezone))
  if not b then return c:say("staff_no_cita", { customer = name }) end
  c.data.last_customer = b.customer.name
  c:send_to(b, "staff_to_customer", { from = person.name, text = what })
  c:say("staff_sent", { customer = b.customer.name })
end

function M.answer(c, person)
  local raw = c.msg.text or ""
  local text = plain(raw)
  local her = c.data.last_customer
  local p = c.data.pending
  if p and p.action == "move" and minutes_of(text) then return move(c, p.customer, text) end
  local verb, name = text:match("^%s*(%a+)le a (%S+) que ")
  local what = raw:match("%s[Qq][Uu][Ee]%s+(.+)$")
  if not SEND[verb] then name = nil end
  if name == "ella" or name == "el" then name = her end
  if name then return send(c, person, name, what) end
  local moved = text:match("mueve la cita de (%S+)") or text:match("cambia la cita de (%S+)")
                or text:match("pasa la cita de (%S+)")
  if moved then return move(c, moved, text) end
  if text:find("quien viene") or text:find("quien tengo") or text:find("quien esta") then
    if minutes_of(text) then return who_comes(c, person, text) end
  end
  if text:find("que tengo") or text:find("mi dia") or text:find("agenda") or text:find("citas") then
    return day(c, person, text)
  end
  c:say("staff_help", { who = person.name })
end

return M
