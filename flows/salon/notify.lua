-- Who hears of a cita besides the customer.
--
--   notify.booked / rescheduled / cancelled (c, b)   the kit's hooks: the
--       owner is told (and the stylist, when they are staff); a reminder is
--       set for 24 h before the cita
--   notify.reminder(c, {id})     timer: the reminder, as free text inside
--       WhatsApp's 24-hour window, else as the approved template
--   notify.daily_summary(c, {occurrence})   schedule (08:00): the owner gets
--       the whole day, each stylist their own
--   notify.when(c, t) -> "jue 10 dic, 17:00";  notify.vars(c, b) -> the
--       variables of a cita's messages: {id, customer, phone, service,
--       stylist, location, when}
local tz = require "tz"

local M = {}

local DAYS = { "lun", "mar", "mié", "jue", "vie", "sáb", "dom" }
local MONTHS = { "ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic" }
local DAY = 24 * 3600

function M.hhmm(c, t)
  local lt = tz.local_time(t, c.tenant.timezone)
  return ("%d:%02d"):format(lt.hour, lt.min)
end

function M.when(c, t)
  local lt = tz.local_time(t, c.tenant.timezone)
  local wd = (tonumber(os.date("!%w", os.time{ year = lt.year, month = lt.month, day = lt.day, hour = 12 })) + 6) % 7 + 1
  return ("%s %d %s, %s"):format(DAYS[wd], lt.day, MONTHS[lt.month], M.hhmm(c, t))
end

local function title_of(list, id)
  for _, x in ipairs(list or {}) do if x.id == id then return x.title end end
  return id or ""
end

function M.vars(c, b)
  local res = c.tenant.booking.resources[b.resource]
  local who = b.customer or {}
  local when = M.when(c, b.start)
  return { id = b.id, customer = who.name or "", phone = who.phone or "", when = when,
           service = title_of(c.tenant.catalogue.services, b.service), stylist = res and res.name or "",
           location = title_of(c.tenant.catalogue.locations, b.area) }
end

-- the stylist hears of their own citas when they are staff too
-- (outside their 24-hour window as the "notice" template, the text its variable)
local function tell(c, key, b)
  local v = M.vars(c, b)
  c:notify("owner", "owner_" .. key, v, { template = { sid = c.tenant.templates.notice,
                                                        params = { c:text("owner_" .. key, c:vars(v)) } } })
  if b.resource and c.tenant.staff[b.resource] then
    c:notify(b.resource, "stylist_" .. key, v, { template = { sid = c.tenant.templates.notice,
                                                              params = { c:text("stylist_" .. key, c:vars(v)) } } })
  end
end

local function remind_at(c, b)
  if c.data.reminder then c:cancel_timer(c.data.reminder) end
  c.data.reminder = nil
  if b.start - DAY > c:now() then c.data.reminder = c:at(b.start - DAY, "remind_cita", { id = b.id }) end
end

function M.booked(c, b)
  tell(c, "new_booking", b)
  remind_at(c, b)
end

function M.rescheduled(c, b)
  tell(c, "rescheduled", b)
  remind_at(c, b)
end

function M.cancelled(c, b)
  tell(c, "cancelled", b)
  if c.data.reminder then c:cancel_timer(c.data.reminder) end
  c.data.reminder = nil
end

function M.reminder(c, data)
  local b = c.booking:get(data.id)
  if not b or b.status ~= "confirmed" then return end
  local v = M.vars(c, b)
  if c:window_open() then return c:say("reminder", v) end
  c:remind(c:now(), { template = { sid = c.tenant.templates.reminder, params = { v.customer, v.service, v.when } } },
           "reminder:" .. b.id)
end

-- "10:00 Corte, Eva (Ana, Centro)" per confirmed cita, in order
local function lines(c, list, with_stylist)
  table.sort(list, function(a, b) return a.start < b.start end)
  local out = {}
  for _, b in ipairs(list) do
    if b.status == "confirmed" then
      local v = M.vars(c, b)
      out[#out + 1] = ("%s %s, %s (%s)"):format(M.hhmm(c, b.start), v.service, v.customer,
        with_stylist and (v.stylist .. ", " .. v.location) or v.location)
    end
  end
  return out
end
M.lines = lines

function M.daily_summary(c, data)
  local date = tz.date(data.occurrence or c:now(), c.tenant.timezone)
  local all = lines(c, c:bookings(date), true)
  c:notify("owner", #all > 0 and "summary_owner" or "summary_owner_none",
           { n = #all, list = table.concat(all, "\n") }, { template = {
             sid = c.tenant.templates.summary, params = { #all } } })
  for id in pairs(c.tenant.booking.resources) do
    if c.tenant.staff[id] then
      local mine = lines(c, c:bookings(date, id), false)
      c:notify(id, #mine > 0 and "summary_stylist" or "summary_stylist_none",
               { n = #mine, list = table.concat(mine, "\n"), stylist = c.tenant.staff[id].name },
               { template = { sid = c.tenant.templates.summary, params = { #mine } } })
    end
  end
end

return M
