--- booking.model: checks a tenant's booking declaration (data) and turns
--- it into the engine's normalized form. Every problem is reported with the
--- path of the offending field, e.g. `services.wash.duration: must be a
--- positive number of minutes`.
--
--   model.compile(decl) -> model | nil, err
--   model.MAXSPAN        the longest time one booking may block a resource
--                        (buffers and add-ons included): 48 h, in seconds.
--                        The overlap checks look that far back, and the
--                        occupancy forgets what ended longer ago than that.
--
-- decl (minutes for durations, local wall time for hours):
--   timezone  = "Asia/Kolkata"
--   id        = { prefix = "SR-", length = 8 }                  (optional)
--   rules     = { granularity = 15, min_notice = 60, horizon_days = 14,
--                 max_per_day = nil, travel_minutes = 0, hold_minutes = 10,
--                 assignment = "least_loaded" | "round_robin" | "preferred",
--                 preferred = { "anna", "ben" },
--                 holds_per_customer = 1,      live holds one customer (and one
--                                              conversation) may have; a new hold
--                                              replaces the oldest; 0 = no limit
--                 bookings_per_minute = 30 }   reservations customers may make in
--                                              the whole tenant per minute; 0 = no limit
--   holidays  = { "2026-12-25", ... }                            (tenant-wide)
--   services  = { wash = { duration = 30, buffer_before = 0, buffer_after = 10,
--                          skill = "wash", price = 499, addons = { wax = { price = 99, duration = 10 } } } }
--   resources = { bay1 = { name = "Bay 1", skills = { "wash" }, areas = { "north" },
--                          capacity = 2, days_off = { "2026-12-01" },
--                          hours = { mon = { "09:00-13:00", "14:00-18:00" }, ... } } }
local tz = require "tz"

local M = {}

M.MAXSPAN = 2 * 86400

local DAYS = { mon = 1, tue = 2, wed = 3, thu = 4, fri = 5, sat = 6, sun = 7 }
local POLICIES = { least_loaded = true, round_robin = true, preferred = true }

local function fail(path, msg) error({ booking_error = path .. ": " .. msg }, 0) end

local function minutes(v, path, default, allow_zero)
  if v == nil then
    if default == nil then fail(path, "is missing (a number of minutes)") end
    return default * 60
  end
  if type(v) ~= "number" or v ~= v or v < 0 or (v == 0 and not allow_zero) then
    fail(path, allow_zero and "must be a number of minutes (0 or more)"
                         or "must be a positive number of minutes")
  end
  return v * 60
end

-- a whole number, 0 or more (0 switches a limit off)
local function count(v, path, default)
  if v == nil then return default end
  if type(v) ~= "number" or v < 0 or v % 1 ~= 0 then fail(path, "must be a whole number, 0 or more (0: no limit)") end
  return v
end

local function date_list(list, path)
  local set = {}
  if list == nil then return set end
  if type(list) ~= "table" then fail(path, "must be a list of \"YYYY-MM-DD\" dates") end
  for i, d in ipairs(list) do
    if type(d) ~= "string" or not d:match("^%d%d%d%d%-%d%d%-%d%d$") or not tz.parse_iso(d, "UTC") then
      fail(path .. "[" .. i .. "]", "must be a date like \"2026-12-25\"")
    end
    set[d] = true
  end
  return set
end

local function hhmm(s)
  local h, m = s:match("^(%d%d?):(%d%d)$")
  h, m = tonumber(h), tonumber(m)
  if not h or m > 59 or h > 24 or (h == 24 and m > 0) then return nil end
  return h * 3600 + m * 60
end

-- -> week (weekday 1..7 -> sorted {from, to} seconds of day), and a text
-- key equal for equal weeks (resources with the same hours share them)
local function hours(decl, path)
  local week, keys = {}, {}
  if type(decl) ~= "table" then fail(path, "must map weekdays (mon..sun) to lists like { \"09:00-13:00\" }") end
  for day, list in pairs(decl) do
    local wd = DAYS[day]
    if not wd then fail(path .. "." .. tostring(day), "is not a weekday (use mon, tue, wed, thu, fri, sat, sun)") end
    if type(list) == "string" then list = { list } end
    local spans = {}
    for i, span in ipairs(list) do
      local a, b
      if type(span) == "string" then a, b = span:match("^%s*([%d:]+)%s*%-%s*([%d:]+)%s*$") end
      local from, to = a and hhmm(a), b and hhmm(b)
      if not from or not to or to <= from then
        fail(path .. "." .. day .. "[" .. i .. "]", "must be a span like \"09:00-13:00\" (end after start)")
      end
      spans[#spans + 1] = { from, to }
    end
    table.sort(spans, function(x, y) return x[1] < y[1] end)
    local key = {}
    for _, sp in ipairs(spans) do key[#key + 1] = sp[1] .. "-" .. sp[2] end
    key = day .. "=" .. table.concat(key, ",")
    for i = 2, #spans do
      if spans[i][1] < spans[i - 1][2] then fail(path .. "." .. day, "spans overlap") end
    end
    week[wd] = spans
    keys[#keys + 1] = key
  end
  table.sort(keys)
  return week, table.concat(keys, ";")
end

local function set_of(list, path)
  local set = {}
  if list == nil then return set end
  if type(list) == "string" then list = { list } end
  if type(list) ~= "table" then fail(path, "must be a list of names") end
  for _, v in ipairs(list) do set[v] = true end
  return set
end

local function compile(decl)
  if type(decl) ~= "table" then fail("booking", "must be a table") end
  local m = { services = {}, resources = {}, resource_ids = {} }
  if type(decl.timezone) ~= "string" or not tz.zone(decl.timezone) then
    fail("timezone", "must be an IANA zone name like \"Asia/Kolkata\" (got " .. tostring(decl.timezone) .. ")")
  end
  m.zone = tz.zone(decl.timezone)
  local id = decl.id or {}
  m.id_prefix = id.prefix or "BK-"
  m.id_length = id.length or 8
  if type(m.id_prefix) ~= "string" or type(m.id_length) ~= "number" or m.id_length < 6 or m.id_length > 32 then
    fail("id", "needs prefix (text) and length (6..32)")
  end
  local r = decl.rules or {}
  m.granularity = minutes(r.granularity, "rules.granularity", 15)
  m.min_notice = minutes(r.min_notice, "rules.min_notice", 0, true)
  m.horizon = (r.horizon_days or 30) * 86400
  if type(r.horizon_days or 30) ~= "number" or m.horizon <= 0 then fail("rules.horizon_days", "must be a positive number of days") end
  m.max_per_day = r.max_per_day
  if m.max_per_day ~= nil and (type(m.max_per_day) ~= "number" or m.max_per_day < 1) then
    fail("rules.max_per_day", "must be a positive number of bookings")
  end
  m.travel = minutes(r.travel_minutes, "rules.travel_minutes", 0, true)
  m.hold = minutes(r.hold_minutes, "rules.hold_minutes", 10)
  m.policy = r.assignment or "least_loaded"
  if not POLICIES[m.policy] then
    fail("rules.assignment", "must be least_loaded, round_robin or preferred (got " .. tostring(m.policy) .. ")")
  end
  m.preferred = r.preferred or {}
  m.max_holds = count(r.holds_per_customer, "rules.holds_per_customer", 1)
  m.rate = count(r.bookings_per_minute, "rules.bookings_per_minute", 30)
  m.holidays = date_list(decl.holidays, "holidays")
  if type(decl.services) ~= "table" or next(decl.services) == nil then fail("services", "must declare at least one service") end
  for name, s in pairs(decl.services) do
    local p = "services." .. tostring(name)
    if type(s) ~= "table" then fail(p, "must be a table") end
    local addons = {}
    for an, a in pairs(s.addons or {}) do
      addons[an] = { price = a.price, duration = minutes(a.duration, p .. ".addons." .. an .. ".duration", 0, true) }
    end
    local svc = {
      id = name, skill = s.skill or name, price = s.price, addons = addons, name = s.name or name,
      duration = minutes(s.duration, p .. ".duration"),
      before = minutes(s.buffer_before, p .. ".buffer_before", 0, true),
      after = minutes(s.buffer_after, p .. ".buffer_after", 0, true),
    }
    local span = svc.before + svc.duration + svc.after
    for _, a in pairs(addons) do span = span + a.duration end
    if span > M.MAXSPAN then
      fail(p, ("blocks %d minutes with its buffers and every add-on; one booking may block at most %d")
                :format(span / 60, M.MAXSPAN / 60))
    end
    m.services[name] = svc
  end
  if type(decl.resources) ~= "table" or next(decl.resources) == nil then fail("resources", "must declare at least one resource") end
  local weeks = {}
  for name, res in pairs(decl.resources) do
    local p = "resources." .. tostring(name)
    if type(res) ~= "table" then fail(p, "must be a table") end
    if tostring(name):find("[|%s]") then fail(p, "name must not contain spaces or '|'") end
    local cap = res.capacity or 1
    if type(cap) ~= "number" or cap < 1 or cap % 1 ~= 0 then fail(p .. ".capacity", "must be a whole number, 1 or more") end
    m.resources[name] = {
      id = name, name = res.name or name, capacity = cap,
      skills = set_of(res.skills or res.services, p .. ".skills"),
      areas = set_of(res.areas, p .. ".areas"),
      days_off = date_list(res.days_off, p .. ".days_off"),
    }
    local week, key = hours(res.hours, p .. ".hours")
    weeks[key] = weeks[key] or week                -- shared: availability caches per week
    m.resources[name].hours = weeks[key]
    m.resource_ids[#m.resource_ids + 1] = name
  end
  table.sort(m.resource_ids)
  for _, rid in ipairs(m.preferred) do
    if not m.resources[rid] then fail("rules.preferred", "names unknown resource " .. tostring(rid)) end
  end
  return m
end

function M.compile(decl)
  local ok, res = pcall(compile, decl)
  if ok then return res end
  if type(res) == "table" and res.booking_error then return nil, res.booking_error end
  error(res, 0)
end

--- model.duration(m, service, addons?) -> seconds of work, incl. add-ons
function M.duration(svc, addons)
  local d = svc.duration
  for _, a in ipairs(addons or {}) do
    local ad = svc.addons[a]
    if ad then d = d + ad.duration end
  end
  return d
end

--- model.price(svc, addons?) -> the service's price plus its add-ons'
--- (nil when the service has no price)
function M.price(svc, addons)
  local p = svc.price
  if type(p) ~= "number" then return p end
  for _, a in ipairs(addons or {}) do
    local ad = svc.addons[a]
    if ad and type(ad.price) == "number" then p = p + ad.price end
  end
  return p
end

return M
