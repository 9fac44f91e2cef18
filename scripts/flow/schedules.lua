--- flow.schedules: a tenant's recurring schedules, in its timezone, run
--- once per occurrence across every host.
--
-- In the tenant config:
--   schedules = {
--     daily_summary = { at = "20:00", days = "mon-sat", handler = "daily_summary",
--                       catch_up = 3600 },   -- seconds; default 1 h
--   }
-- at: "20:00", "20:00:30", "8pm" or "8:30pm" (local wall time: DST-correct;
-- a time the clocks skip runs when they jump forward). days: "daily" (the
-- default), "weekdays", "weekends", "mon-sat", "mon,wed,fri", "sun".
-- handler: a function in the flow's timers = { ... }: it runs as
-- timers[handler](c, {schedule = name, occurrence = unix time}) with the
-- conversation "schedule:<name>" (its notes in c.data last between runs).
--
-- Each occurrence is a durable timer with the id
-- "sched:<tenant>:<name>:<unix time>": scheduling it twice (two hosts, a
-- restart) is one timer, and a timer that fired is remembered for 7 days.
-- Every worker keeps the next occurrence scheduled (schedules.start, every
-- 30 s and after each run). A host that was down at the time: the last
-- occurrence is scheduled too, and runs late if it is less than catch_up
-- old; an older one is logged as skipped and does not run. Occurrences from
-- before the schedule first appeared (fh:sched:{<tenant>}:<name>:since) never run.
--
--   schedules.parse(decl) -> list | nil, problem        (tenant.load checks with it)
--   schedules.next(s, after, zone) / schedules.previous(s, at_or_before, zone) -> unix time
--   schedules.ensure(tenant, settings)   (main state)
--   schedules.fire(payload, info)        (main state) timer kind "schedule"
--   schedules.start()                    (main state) the keeper task
local tz = require "tz"

local M = {}

M.KIND = "schedule"
local CATCH_UP = 3600
local KEEP_EVERY = 30

local DAY = { mon = 1, tue = 2, wed = 3, thu = 4, fri = 5, sat = 6, sun = 7 }

-- "mon-sat", "mon,wed,fri", "weekdays", ... -> set of weekday numbers
local function days_of(spec)
  if spec == nil or spec == "daily" or spec == "every day" then spec = "mon-sun" end
  if type(spec) ~= "string" then return nil end
  spec = spec:lower():gsub("%s+", "")
  if spec == "weekdays" then spec = "mon-fri" elseif spec == "weekends" then spec = "sat-sun" end
  local set, any = {}, false
  for part in spec:gmatch("[^,]+") do
    local a, b = part:match("^(%a%a%a)%-(%a%a%a)$")
    if a then
      if not DAY[a] or not DAY[b] then return nil end
      local d = DAY[a]
      for _ = 1, 7 do
        set[d], any = true, true
        if d == DAY[b] then break end
        d = d % 7 + 1
      end
    elseif DAY[part] then set[DAY[part]], any = true, true
    else return nil end
  end
  return any and set or nil
end

-- "20:00", "20:00:30", "8pm", "8:30 pm" -> hour, min, sec
local function time_of(at)
  if type(at) ~= "string" then return nil end
  local s = at:lower():gsub("%s+", "")
  local h, m, sec = s:match("^(%d%d?):(%d%d):?(%d*)$")
  local ampm
  if not h then h, m, ampm = s:match("^(%d%d?):?(%d*)([ap]m)$") end
  h, m, sec = tonumber(h), tonumber(m ~= "" and m or "0"), tonumber(sec ~= nil and sec ~= "" and sec or "0")
  if not h or not m or not sec or m > 59 or sec > 59 then return nil end
  if ampm then
    if h < 1 or h > 12 then return nil end
    h = h % 12 + (ampm == "pm" and 12 or 0)
  end
  if h > 23 then return nil end
  return h, m, sec
end

function M.parse(decl)
  if decl == nil then return {} end
  if type(decl) ~= "table" then return nil, { msg = "schedules must map names to { at = \"20:00\", handler = ... }" } end
  local out = {}
  for name, s in pairs(decl) do
    local function bad(msg) return nil, { name = name, msg = ("schedule '%s': %s"):format(tostring(name), msg) } end
    if type(name) ~= "string" or not name:match("^[%w_]+$") then return bad("a name is letters, digits and _") end
    if type(s) ~= "table" then return bad("must be { at = \"20:00\", days = \"mon-sat\", handler = \"name\" }") end
    local h, m, sec = time_of(s.at)
    if not h then return bad(("at = %q is not a time; write it like \"20:00\" or \"8pm\""):format(tostring(s.at))) end
    local days = days_of(s.days)
    if not days then
      return bad(("days = %q: write \"daily\", \"weekdays\", \"mon-sat\" or \"mon,wed,fri\""):format(tostring(s.days)))
    end
    if type(s.handler) ~= "string" then return bad("handler must name a function in the flow's timers") end
    if s.catch_up ~= nil and (type(s.catch_up) ~= "number" or s.catch_up < 0) then
      return bad("catch_up must be a number of seconds")
    end
    out[#out + 1] = { name = name, hour = h, min = m, sec = sec, days = days, handler = s.handler,
                      catch_up = s.catch_up or CATCH_UP }
  end
  table.sort(out, function(a, b) return a.name < b.name end)
  return out
end

-- the occurrence on the local date of t (nil when the day is not one of its days)
local function on_day(s, t, zone)
  local lt = tz.local_time(t, zone)
  if not s.days[lt.wday] then return nil end
  return (tz.to_utc({ year = lt.year, month = lt.month, day = lt.day, hour = s.hour, min = s.min, sec = s.sec }, zone))
end

-- noon of t's local date (a safe base for stepping days)
local function noon_of(t, zone)
  local lt = tz.local_time(t, zone)
  return (tz.to_utc({ year = lt.year, month = lt.month, day = lt.day, hour = 12, min = 0, sec = 0 }, zone))
end

function M.next(s, after, zone)
  local noon = noon_of(after, zone)
  for i = 0, 8 do
    local t = on_day(s, tz.add_days(noon, i, zone), zone)
    if t and t > after then return t end
  end
end

function M.previous(s, before, zone)
  local noon = noon_of(before, zone)
  for i = 0, 8 do
    local t = on_day(s, tz.add_days(noon, -i, zone), zone)
    if t and t <= before then return t end
  end
end

local function occurrence_id(tenant, name, t) return ("sched:%s:%s:%d"):format(tenant, name, math.floor(t)) end

-- the first time this host saw the schedule (occurrences before it never run)
local function since(tenant, name, now)
  local redis = require "redis"
  local key = ("fh:sched:{%s}:%s:since"):format(tenant, name)
  redis.call("SET", key, tostring(math.floor(now)), "NX")
  return tonumber(redis.call("GET", key)) or now
end

function M.ensure(tenant, settings)
  local list = M.parse(settings and settings.schedules)
  if not list or #list == 0 or not settings.timezone then return end
  local timer = require "timer"
  local now = require("time").now()
  for _, s in ipairs(list) do
    local p = { tenant = tenant, name = s.name, handler = s.handler, catch_up = s.catch_up }
    local prev = M.previous(s, now, settings.timezone)
    if prev and prev >= since(tenant, s.name, now) then
      timer.at(prev, M.KIND, p, { id = occurrence_id(tenant, s.name, prev) })
    end
    local nxt = M.next(s, now, settings.timezone)
    if nxt then timer.at(nxt, M.KIND, p, { id = occurrence_id(tenant, s.name, nxt) }) end
  end
end

function M.fire(p, info)
  if type(p) ~= "table" or type(p.tenant) ~= "string" or type(p.name) ~= "string" then return end
  local log = require "log"
  if (info.late or 0) > (tonumber(p.catch_up) or CATCH_UP) then
    log.warn("schedule occurrence skipped: the hosts were down at its time", { tenant = p.tenant,
      schedule = p.name, due = info.due, late = math.floor(info.late) })
    return
  end
  local turns = require "channels.turn"
  local res, err = turns.run(p.tenant, "schedule:" .. p.name, { timer = p.handler, timer_id = info.id,
    data = { schedule = p.name, occurrence = info.due } }, { mid = "timer:" .. info.id })
  if not res then
    if err == "unknown tenant" then return end
    error("schedule turn: " .. tostring(err), 0)        -- retried by the timer
  end
  local st = require("flow.tenants").status(p.tenant)
  if st then M.ensure(p.tenant, st.settings) end
  log.info("schedule ran", { tenant = p.tenant, schedule = p.name, due = info.due })
end

function M.start()
  local host = require "host"
  local tenants = require "flow.tenants"
  host.spawn(function()
    local time = require "time"
    time.sleep(0.5)
    while true do
      for _, id in ipairs(tenants.owned()) do
        local st = tenants.status(id)
        if st and st.settings and st.settings.schedules then
          local ok, err = pcall(M.ensure, id, st.settings)
          if not ok then require("log").warn("schedules not kept", { tenant = id, err = tostring(err) }) end
        end
      end
      time.sleep(KEEP_EVERY)
    end
  end)
end

return M
