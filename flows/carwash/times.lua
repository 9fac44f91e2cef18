-- Free times of a day, offered as buttons, and the customer's pick.
local tz = require "tz"
local extract = require "text.extract"

local times = {}
local MAX_OFFER = 8

-- "10:30 AM" in the tenant's zone
function times.label(c, t)
  local lt = tz.local_time(t, c.tenant.timezone)
  local h = lt.hour % 12
  if h == 0 then h = 12 end
  return ("%d:%02d %s"):format(h, lt.min, lt.hour < 12 and "AM" or "PM")
end

-- "Sun 29 Nov" for a "YYYY-MM-DD" date
function times.day_label(date)
  local y, m, d = date:match("^(%d+)-(%d+)-(%d+)$")
  return os.date("!%a %d %b", os.time{ year = tonumber(y), month = tonumber(m), day = tonumber(d), hour = 12 })
end

-- free start times on a date for a service and its add-ons
function times.free(c, date, service, addons)
  local zone = c.tenant.timezone
  local from = tz.parse_iso(date .. "T00:00:00", zone)
  local slots = c.booking:slots{ service = service, addons = addons, from = from,
                                 to = tz.add_days(from, 1, zone) - 1 }
  local out = {}
  for _, s in ipairs(slots or {}) do out[#out + 1] = s.start end
  return out
end

-- say `key` with up to 8 of the times as buttons, spread over the day
function times.offer(c, starts, key, vars)
  local pick = starts
  if #starts > MAX_OFFER then
    pick = {}
    for i = 0, MAX_OFFER - 1 do pick[#pick + 1] = starts[1 + math.floor(i * (#starts - 1) / (MAX_OFFER - 1))] end
  end
  local buttons = {}
  for i, t in ipairs(pick) do buttons[i] = { id = "t" .. t, title = times.label(c, t) } end
  c.data.free = starts
  c.data.offered = pick
  c:say(key, vars, { buttons = buttons })
end

-- the start the customer chose: a button, a time ("10:30", "4 pm"), the
-- number of a button, or "earliest"; nil when the message is not a time
function times.pick(c)
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
    local lt = tz.local_time(t, c.tenant.timezone)
    if lt.hour * 60 + lt.min == minutes then return t end
  end
  return nil, "not free", minutes
end

return times
