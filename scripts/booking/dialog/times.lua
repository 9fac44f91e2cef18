--- booking.dialog.times: the free times of a day, offered as buttons, the
--- customer's pick, and what to say when a day has none. Acts only through
--- the `c` it is given (c.booking, c.tenant, c.data, c:say).
--
--   times.resource(c, id) -> the resource's name ("Ana"), or ""
--   times.label(c, t) / times.day(c, date) / times.at(c, t)
--       "10:30 AM" / "Tue 08 Dec" / "Tue 08 Dec, 10:30 AM" in c.lang (flow.when)
--   times.free(c, date, service, addons, where?) -> list of start times (may be empty),
--       err when they could not be known (e.g. "calendar unavailable": the
--       tenant's outside calendar did not answer; no time is invented)
--       where = {area?, resource?}: only at that location / with that person
--   times.offer(c, starts, key, vars?)
--       says message `key` with up to cfg.max_times times as buttons, spread
--       over the day; remembers them (c.data.free, c.data.offered)
--   times.pick(c) -> start | nil | nil, "not free"
--       the start chosen: a button, "10:30", "4 pm", a button's number, "earliest"
--   times.none(c, msg, date, service, addons, filled?, where?)
--       says why a day has no times (closed, none left today, fully booked,
--       just filled up) with the earliest free time
local tz = require "tz"
local extract = require "text.extract"
local when = require "flow.when"
local readonly = require "flow.readonly"

local pairs = readonly.pairs                    -- c.tenant is a view

local M = {}

local function zone(c) return c.tenant.timezone end

--- the name of a resource ("Ana", "Bay 2") as the business wrote it, or ""
function M.resource(c, rid)
  local res = rid and c.tenant.booking and c.tenant.booking.resources
  local r = res and res[rid]
  return r and r.name or rid or ""
end

function M.label(c, t) return when.time(t, zone(c), c.lang) end
function M.day(c, date) return when.day(date, c.lang) or tostring(date) end
function M.at(c, t) return when.at(t, zone(c), c.lang) end

function M.free(c, date, service, addons, where)
  local z = zone(c)
  local from = tz.parse_iso(date .. "T00:00:00", z)
  where = where or {}
  local slots, err = c.booking:slots{ service = service, addons = addons, from = from, to = tz.add_days(from, 1, z) - 1,
                                      area = where.area, resource = where.resource }
  local out = {}
  for _, s in ipairs(slots or {}) do out[#out + 1] = s.start end
  if not slots then return out, err or "unavailable" end
  return out
end

function M.offer(c, starts, key, vars, max)
  max = max or 8
  local pick = starts
  if #starts > max then
    pick = {}
    for i = 0, max - 1 do pick[#pick + 1] = starts[1 + math.floor(i * (#starts - 1) / (max - 1))] end
  end
  local buttons = {}
  for i, t in ipairs(pick) do buttons[i] = { id = "t" .. t, title = M.label(c, t) } end
  c.data.free = starts
  c.data.offered = pick
  c:say(key, vars, { buttons = buttons })
end

function M.pick(c)
  local msg, free = c.msg, c.data.free or {}
  if msg.button then
    local t = tonumber(msg.button:match("^t(%d+)$"))
    if t then return t end
  end
  local text = (msg.text or ""):lower()
  local n = tonumber(text:gsub("%s+", " "):match("^ ?(%d) ?[%.%)]? ?$"))
  if n and c.data.offered and c.data.offered[n] then return c.data.offered[n] end
  if text:find("earliest") or text:find("first") or text:find("soonest") then return free[1] end
  local minutes = extract.time(text)
  if not minutes then return nil end
  for _, t in ipairs(free) do
    local lt = tz.local_time(t, zone(c))
    if lt.hour * 60 + lt.min == minutes then return t end
  end
  return nil, "not free", minutes
end

-- is the business open at all on date (some resource works that weekday,
-- and it is no holiday or day off of every resource)?
local function open_on(c, date)
  local b = c.tenant.booking
  if not b or not b.resources then return true end
  if b.holidays then
    for _, d in ipairs(b.holidays) do if d == date then return false end end
  end
  local wd = when.WEEKDAYS[when.weekday(date) or 0]
  for _, r in pairs(b.resources) do
    local spans = r.hours and r.hours[wd]
    local off = false
    for _, d in ipairs(r.days_off or {}) do off = off or d == date end
    if not off and (type(spans) == "string" or (type(spans) == "table" and spans[1] ~= nil)) then return true end
  end
  return false
end

-- the earliest free time from now, as the customer reads it
function M.next_free(c, service, addons, where)
  where = where or {}
  local nf = c.booking:next_free{ service = service, addons = addons, area = where.area, resource = where.resource }
  return nf and M.at(c, nf.start) or nil
end

--- says why date has no times; msg = the messages table of the kit;
--- filled = true when the day filled up while the customer was choosing
function M.none(c, msg, date, service, addons, filled, where)
  local nxt = M.next_free(c, service, addons, where)
  if not nxt then return c:say(msg.no_free_time) end
  local key = msg.no_times_day
  if filled then key = msg.day_full
  elseif not open_on(c, date) then key = msg.day_closed
  elseif date == tz.date(c:now(), zone(c)) then key = msg.no_times_today end
  c:say(key, { date = M.day(c, date), next = nxt })
end

return M
