--- booking.availability: free slots from working hours, existing bookings,
--- external busy time, notice and horizon. Pure computation: the caller
--- (scripts/booking.lua) brings the bookings and the busy intervals.
--
--   availability.slots(m, q, occ, busy, now) -> list of slots
--     m     compiled model (booking.model)
--     q     {service = id, from = t, to = t, area?, resource?, addons?, limit?}
--     occ   resource id -> list of {s, e, area, id}: blocked time of bookings
--           (buffers included) that may touch [from, to]
--     busy  resource id -> list of {s, e} from external calendars (may be nil)
--     now   current time (seconds)
--   slot = {start = t, ["end"] = t, resources = {ids, sorted}}, sorted by start
--
-- A slot's blocked interval is [start - buffer_before, end + buffer_after];
-- it must lie inside one working span of the resource's local day, must
-- not overlap external busy time, and the bookings overlapping it may not
-- reach the resource's capacity at any moment. A booking in another area
-- blocks travel_minutes more on each side. Slots start on a grid of
-- `granularity` minutes from local midnight (a 09:00 slot stays 09:00 local
-- on the day clocks change).
local tz = require "tz"
local model = require "booking.model"

local M = {}

local floor, ceil = math.floor, math.ceil
local DAY = 86400

local dates, ndates = {}, 0       -- days since epoch -> "YYYY-MM-DD" (memo)

local function date_of_days(days)
  local s = dates[days]
  if s then return s end
  if ndates > 10000 then dates, ndates = {}, 0 end
  local y, mo, d = tz.civil_from_days(days)
  s = ("%04d-%02d-%02d"):format(y, mo, d)
  dates[days], ndates = s, ndates + 1
  return s
end

-- the instant of local date y-mo-d plus secs (may pass 24 h)
local function local_utc(m, y, mo, d, secs)
  return (tz.to_utc({ year = y, month = mo, day = d, hour = floor(secs / 3600),
                      min = floor(secs % 3600 / 60), sec = secs % 60 }, m.zone))
end

-- UTC spans of a weekly pattern on one local day, cached per model: every
-- resource with the same hours shares them (to_utc is the costly part)
local function week_spans(m, week, days)
  local cache = m.span_cache
  if not cache or cache.n > 20000 then cache = { n = 0 }; m.span_cache = cache end
  local per = cache[week]
  if not per then per = {}; cache[week] = per end
  local out = per[days]
  if out then return out end
  out = {}
  local wd = (days + 3) % 7 + 1
  local y, mo, d = tz.civil_from_days(days)
  for _, sp in ipairs(week[wd] or {}) do
    out[#out + 1] = { local_utc(m, y, mo, d, sp[1]), local_utc(m, y, mo, d, sp[2]), sp[1], sp[2] }
  end
  per[days] = out
  cache.n = cache.n + 1
  return out
end

local NONE = {}

-- spans with the extra local hours {{from, to}} of day `days` joined in
local function with_extra(m, spans, extra, days)
  local y, mo, d = tz.civil_from_days(days)
  local all = {}
  for _, sp in ipairs(spans) do all[#all + 1] = sp end
  for _, x in ipairs(extra) do all[#all + 1] = { local_utc(m, y, mo, d, x[1]), local_utc(m, y, mo, d, x[2]), x[1], x[2] } end
  table.sort(all, function(p, q) return p[3] < q[3] end)
  local out = {}
  for _, sp in ipairs(all) do
    local last = out[#out]
    if last and sp[3] <= last[4] then
      if sp[4] > last[4] then last[2], last[4] = sp[2], sp[4] end
    else
      out[#out + 1] = { sp[1], sp[2], sp[3], sp[4] }
    end
  end
  return out
end

--- Working spans of resource on local day `days` (days since epoch) as
--- {a, b, la, lb}: UTC bounds and local seconds-of-day bounds. Shared: do
--- not modify. ovr: the owner's overrides (booking.overrides.compile):
--- a closed day or the resource's day off has no weekly hours; extra
--- hours of the day (the resource's or everyone's) are added.
function M.spans(m, res, days, ovr)
  local date = date_of_days(days)
  if m.holidays[date] or res.days_off[date] then return NONE end
  if not ovr then return week_spans(m, res.hours, days) end
  local base = NONE
  if not (ovr.closed[date] or (ovr.off[res.id] and ovr.off[res.id][date])) then base = week_spans(m, res.hours, days) end
  local day = ovr.extra[date]
  if not day or not (day[res.id] or day["*"]) then return base end
  local extra = {}
  for _, list in ipairs{ day[res.id] or NONE, day["*"] or NONE } do
    for _, x in ipairs(list) do extra[#extra + 1] = x end
  end
  return with_extra(m, base, extra, days)
end

-- max number of intervals of list overlapping at any moment inside [a, b)
local function peak(list, a, b)
  local ev = {}
  for _, iv in ipairs(list) do
    if iv.s < b and iv.e > a then
      ev[#ev + 1] = { math.max(iv.s, a), 1 }
      ev[#ev + 1] = { math.min(iv.e, b), -1 }
    end
  end
  if #ev == 0 then return 0 end
  table.sort(ev, function(x, y) if x[1] ~= y[1] then return x[1] < y[1] end return x[2] < y[2] end)
  local n, best = 0, 0
  for _, e in ipairs(ev) do
    n = n + e[2]
    if n > best then best = n end
  end
  return best
end
M.peak = peak

local function overlaps_any(list, a, b)
  for _, iv in ipairs(list) do
    if iv.s < b and iv.e > a then return true end
  end
  return false
end

-- bookings of one resource as seen from area (travel time added), and how
-- many start on each local date (only when a per-day limit needs it)
local function prepare(m, list, area)
  if list == nil or list[1] == nil then return NONE, NONE end
  local out, per_day = {}, {}
  for _, b in ipairs(list or {}) do
    local pad = (m.travel > 0 and area and b.area and b.area ~= "" and b.area ~= area) and m.travel or 0
    out[#out + 1] = pad == 0 and b or { s = b.s - pad, e = b.e + pad }
    if m.max_per_day then
      local day = tz.date(b.start or b.s, m.zone)
      per_day[day] = (per_day[day] or 0) + 1
    end
  end
  return out, per_day
end

-- the intervals of list touching [a, b) (NONE, shared, when there are none)
local function within(list, a, b)
  local out = NONE
  for _, iv in ipairs(list) do
    if iv.s < b and iv.e > a then
      if out == NONE then out = {} end
      out[#out + 1] = iv
    end
  end
  return out
end

--- Resources that can do service (by skill) in area, optionally just one.
function M.candidates(m, svc, area, only)
  local out = {}
  for _, rid in ipairs(m.resource_ids) do
    local r = m.resources[rid]
    if (not only or only == rid) and r.skills[svc.skill]
       and (not area or next(r.areas) == nil or r.areas[area]) then
      out[#out + 1] = r
    end
  end
  return out
end

-- the starts on the grid inside span sp = {a, b, la, lb, days} (UTC and
-- local bounds) whose blocked time fits the span, between earliest and
-- latest; bookings not considered
local function span_starts(m, sp, dur, before, after, earliest, latest)
  local a, b, la, lb, days = sp[1], sp[2], sp[3], sp[4], sp[5]
  local gran = m.granularity
  local out = {}
  local ls = ceil((la + before) / gran) * gran
  if (b - a) == (lb - la) then                      -- no DST change inside the span
    -- straight to the first start not before earliest
    if a + (ls - la) < earliest then ls = ls + ceil((earliest - a - (ls - la)) / gran) * gran end
    while ls + dur + after <= lb do
      local s = a + (ls - la)
      if s > latest then break end
      if s - before >= a and s + dur + after <= b then out[#out + 1] = s end
      ls = ls + gran
    end
    return out
  end
  local y, mo, d = tz.civil_from_days(days)
  while ls + dur + after <= lb do
    local s = local_utc(m, y, mo, d, ls)
    if s >= earliest and s <= latest and s - before >= a and s + dur + after <= b then out[#out + 1] = s end
    ls = ls + gran
  end
  return out
end

-- working spans {a, b, la, lb, days} of res from local day first to last
local function day_spans(m, res, per_day, first, last, ovr)
  local spans = {}
  for days = first, last do
    local date = date_of_days(days)
    if not (m.max_per_day and (per_day[date] or 0) >= m.max_per_day) then
      for _, sp in ipairs(M.spans(m, res, days, ovr)) do
        local prev = spans[#spans]
        if prev and prev[2] == sp[1] and prev[5] + (prev[6] or 0) == days - 1 then
          prev[2], prev[4], prev[6] = sp[2], sp[4] + 86400 * (days - prev[5]), days - prev[5]
        else
          spans[#spans + 1] = { sp[1], sp[2], sp[3], sp[4], days }
        end
      end
    end
  end
  return spans
end

--- ovr (optional): the owner's overrides (booking.overrides.compile)
function M.slots(m, q, occ, busy, now, ovr)
  local svc = m.services[q.service]
  if not svc then error("booking: unknown service " .. tostring(q.service), 2) end
  local dur = model.duration(svc, q.addons)
  local before, after = svc.before, svc.after
  local earliest = math.max(q.from, now + m.min_notice)
  local latest = math.min(q.to, now + m.horizon)
  local by_start, starts, free_slots = {}, {}, {}
  if latest < earliest then return {} end
  local function slot_at(s)
    local slot = by_start[s]
    if not slot then
      slot = { start = s, ["end"] = s + dur, resources = {}, n = 0 }
      by_start[s] = slot
      starts[#starts + 1] = s
    end
    return slot
  end
  local first_day = floor((earliest + m.zone:offset(earliest)) / DAY) - 1
  local last_day = floor((latest + m.zone:offset(latest)) / DAY) + 1
  local shared = {}          -- hours -> spans, for resources without days off
  for _, res in ipairs(M.candidates(m, svc, q.area, q.resource)) do
    local booked, per_day = prepare(m, occ[res.id], q.area)
    local ext = busy and busy[res.id] or NONE
    -- working spans of all days, a span ending at 24:00 joined to one
    -- starting at 00:00 the next day (night shifts cross midnight); the
    -- same list (and so the same free starts below) for every resource
    -- with the same hours and no days off of its own
    local share = not m.max_per_day and next(res.days_off) == nil and not ovr
    local spans = share and shared[res.hours]
    if not spans then
      spans = day_spans(m, res, per_day, first_day, last_day, ovr)
      if share then shared[res.hours] = spans end
    end
    local cap = res.capacity
    for _, sp in ipairs(spans) do
      local a, b = sp[1], sp[2]
      local near, near_ext = within(booked, a, b), within(ext, a, b)
      if near[1] == nil and near_ext[1] == nil then
        -- nothing booked or busy here: the span's starts (and their slots)
        -- are those of any other free resource with the same span
        local open = free_slots[sp]
        if not open then
          open = span_starts(m, sp, dur, before, after, earliest, latest)
          for i = 1, #open do open[i] = slot_at(open[i]) end
          free_slots[sp] = open
        end
        local id = res.id
        for i = 1, #open do
          local slot = open[i]
          local n = slot.n + 1                      -- candidates come in id order:
          slot.resources[n], slot.n = id, n         -- each list is sorted already
        end
      else
        local open = span_starts(m, sp, dur, before, after, earliest, latest)
        for i = 1, #open do
          local s = open[i]
          local bs, be = s - before, s + dur + after
          if not overlaps_any(near_ext, bs, be)
             and (cap == 1 and not overlaps_any(near, bs, be) or cap > 1 and peak(near, bs, be) < cap) then
            local slot = slot_at(s)
            local n = slot.n + 1
            slot.resources[n], slot.n = res.id, n
          end
        end
      end
    end
  end
  table.sort(starts)
  local out = {}
  for i, s in ipairs(starts) do
    if q.limit and i > q.limit then break end
    local slot = by_start[s]
    slot.n = nil
    out[#out + 1] = slot
  end
  return out
end

return M
